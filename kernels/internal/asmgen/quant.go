package main

// The int8 inference kernels around GemmS8S8S32: quantizing float inputs
// straight to int8 (quantizeS8AVX512) and finishing the int32 accumulators
// (requantS32AVX512, requantS32ChanAVX512). They go to quant_amd64.s.

func init() {
	extraOutputs = append(extraOutputs, output{"quant_amd64.s", []func(*gen){
		quantizeS8512,
		func(g *gen) { requantS32512(g, false) },
		func(g *gen) { requantS32512(g, true) },
	}})
}

// roundMagic is 1.5·2²³ as float32 bits: adding and subtracting it rounds
// to the nearest integer, ties to even, for |v| ≤ 2²² (nn's roundEven32).
const roundMagic = 0x4b400000

// tailMask sets K1 to the low CX bits (CX < 16), using AX.
func tailMask(g *gen) {
	g.p("\tMOVQ $1, AX")
	g.p("\tSHLQ CX, AX")
	g.p("\tDECQ AX")
	g.p("\tKMOVW AX, K1")
}

// quantizeS8512 writes quantizeS8AVX512: for i < n,
//
//	q := int8(cvt(min(max(scale·src[i] − zp, lo), hi)) + add)
//	dst[i] = q; sum += int32(q)
//
// cvt being VCVTPS2DQ (round to nearest even under the default MXCSR),
// then returns sum. The product and the difference are rounded separately
// (VMULPS, VSUBPS) as Go does. Four vectors per iteration, then single
// vectors, then a masked tail; VPMOVDB truncates as Go's int8 conversion,
// and the sum adds the truncated bytes sign-extended back (VPSLLD/VPSRAD).
func quantizeS8512(g *gen) {
	name := "quantizeS8AVX512"
	g.p("// func %s(dst *int8, src *float32, n int, scale, zp, lo, hi float32, add int32) int32", name)
	g.p("TEXT ·%s(SB), NOSPLIT, $0-52", name)
	g.p("\tMOVQ dst+0(FP), DI")
	g.p("\tMOVQ src+8(FP), SI")
	g.p("\tMOVQ n+16(FP), CX")
	g.p("\tVBROADCASTSS scale+24(FP), Z28")
	g.p("\tVBROADCASTSS zp+28(FP), Z29")
	g.p("\tVBROADCASTSS lo+32(FP), Z30")
	g.p("\tVBROADCASTSS hi+36(FP), Z31")
	g.p("\tMOVL add+40(FP), AX")
	g.p("\tVPBROADCASTD AX, Z27")
	for v := 0; v < 4; v++ {
		g.p("\tVPXORD Z%d, Z%d, Z%d", 20+v, 20+v, 20+v)
	}
	// body quantizes vector v from off(SI) into off/4(DI), adding to the
	// sum Z20+v; with mask, only the lanes of K1.
	body := func(v, off int, mask bool) {
		z := v
		if mask {
			g.p("\tVMOVUPS.Z %d(SI), K1, Z%d", off, z)
			g.p("\tVMULPS Z28, Z%d, Z%d", z, z)
		} else {
			g.p("\tVMULPS %d(SI), Z28, Z%d", off, z)
		}
		g.p("\tVSUBPS Z29, Z%d, Z%d", z, z)
		g.p("\tVMAXPS Z30, Z%d, Z%d", z, z)
		g.p("\tVMINPS Z31, Z%d, Z%d", z, z)
		g.p("\tVCVTPS2DQ Z%d, Z%d", z, z)
		g.p("\tVPADDD Z27, Z%d, Z%d", z, z)
		if mask {
			g.p("\tVPMOVDB Z%d, K1, %d(DI)", z, off/4)
		} else {
			g.p("\tVPMOVDB Z%d, %d(DI)", z, off/4)
		}
		g.p("\tVPSLLD $24, Z%d, Z%d", z, z)
		g.p("\tVPSRAD $24, Z%d, Z%d", z, z)
		if mask {
			g.p("\tVPADDD Z%d, Z%d, K1, Z%d", z, 20+v, 20+v)
		} else {
			g.p("\tVPADDD Z%d, Z%d, Z%d", z, 20+v, 20+v)
		}
	}
	g.p("\tCMPQ CX, $64")
	g.p("\tJLT q8_one")
	g.p("q8_loop4:")
	for v := 0; v < 4; v++ {
		body(v, 64*v, false)
	}
	g.p("\tADDQ $256, SI")
	g.p("\tADDQ $64, DI")
	g.p("\tSUBQ $64, CX")
	g.p("\tCMPQ CX, $64")
	g.p("\tJGE q8_loop4")
	g.p("q8_one:")
	g.p("\tCMPQ CX, $16")
	g.p("\tJLT q8_tail")
	body(0, 0, false)
	g.p("\tADDQ $64, SI")
	g.p("\tADDQ $16, DI")
	g.p("\tSUBQ $16, CX")
	g.p("\tJMP q8_one")
	g.p("q8_tail:")
	g.p("\tTESTQ CX, CX")
	g.p("\tJZ q8_sum")
	tailMask(g)
	body(0, 0, true)
	g.p("q8_sum:")
	g.p("\tVPADDD Z21, Z20, Z0")
	g.p("\tVPADDD Z23, Z22, Z1")
	g.p("\tVPADDD Z1, Z0, Z0")
	hsumD(g)
	g.p("\tMOVL AX, ret+48(FP)")
	g.p("\tVZEROUPPER")
	g.p("\tRET")
	g.p("")
}

// hsumD leaves in AX the sum of Z0's sixteen int32 lanes (using Z1).
func hsumD(g *gen) {
	g.p("\tVEXTRACTI64X4 $1, Z0, Y1")
	g.p("\tVPADDD Y1, Y0, Y0")
	g.p("\tVEXTRACTI128 $1, Y0, X1")
	g.p("\tVPADDD X1, X0, X0")
	g.p("\tVPSHUFD $0x4e, X0, X1")
	g.p("\tVPADDD X1, X0, X0")
	g.p("\tVPSHUFD $0xb1, X0, X1")
	g.p("\tVPADDD X1, X0, X0")
	g.p("\tVMOVD X0, AX")
}

// requantS32512 writes requantS32AVX512 (chan false) and
// requantS32ChanAVX512 (chan true), the int8 product's epilogue: for i < n,
//
//	a := max(acc[i] + bias[i] + zw[i]·sum, floor)       (int32, wrapping)
//	m = max(m, |a|)                                      (unsigned)
//	y := float32(a)·mult[i]
//	if out: t := min(max(y − zp, lo), hi); y = (roundEven(t) + zp)/scale
//	dst[i] = y
//
// returning m. floor is 0 for a fused ReLU and MinInt32 otherwise, and
// roundEven adds and subtracts 1.5·2²³. In the chan variant bias, zw and
// mult are one channel's scalars and the sums vary along the row (a
// convolution's [channel][position] accumulators): the argument order is
// (dst, acc, n, sums, bias, zw, mult, floor, out, zp, lo, hi, scale).
// Otherwise (a Linear layer's [sample][channel] accumulators) bias, zw
// and mult are per element and sum is the sample's: (dst, acc, n, bias,
// zw, mult, sum, floor, out, zp, lo, hi, scale).
//
// Registers: Z20 m, Z21 floor, Z22 zp, Z23 lo, Z24 hi, Z25 scale,
// Z26 magic; Z27 sum, or in the chan variant Z27 bias, Z28 zw, Z29 mult.
// The out and plain loops are written separately, chosen once.
func requantS32512(g *gen, chanConst bool) {
	name, pfx := "requantS32AVX512", "rq"
	var frame map[string]int
	if chanConst {
		name, pfx = "requantS32ChanAVX512", "rqc"
		g.p("// func %s(dst *float32, acc *int32, n int, sums *int32, bias, zw int32, mult float32, floor int32, out bool, zp, lo, hi, scale float32) uint32", name)
		g.p("TEXT ·%s(SB), NOSPLIT, $0-76", name)
		frame = map[string]int{"sums": 24, "bias": 32, "zw": 36, "mult": 40, "floor": 44, "out": 48, "zp": 52, "lo": 56, "hi": 60, "scale": 64, "ret": 72}
	} else {
		g.p("// func %s(dst *float32, acc *int32, n int, bias, zw *int32, mult *float32, sum int32, floor int32, out bool, zp, lo, hi, scale float32) uint32", name)
		g.p("TEXT ·%s(SB), NOSPLIT, $0-84", name)
		frame = map[string]int{"bias": 24, "zw": 32, "mult": 40, "sum": 48, "floor": 52, "out": 56, "zp": 60, "lo": 64, "hi": 68, "scale": 72, "ret": 80}
	}
	g.p("\tMOVQ dst+0(FP), DI")
	g.p("\tMOVQ acc+8(FP), SI")
	g.p("\tMOVQ n+16(FP), CX")
	if chanConst {
		g.p("\tMOVQ sums+%d(FP), DX", frame["sums"])
		g.p("\tMOVL bias+%d(FP), AX", frame["bias"])
		g.p("\tVPBROADCASTD AX, Z27")
		g.p("\tMOVL zw+%d(FP), AX", frame["zw"])
		g.p("\tVPBROADCASTD AX, Z28")
		g.p("\tVBROADCASTSS mult+%d(FP), Z29", frame["mult"])
	} else {
		g.p("\tMOVQ bias+%d(FP), R8", frame["bias"])
		g.p("\tMOVQ zw+%d(FP), R9", frame["zw"])
		g.p("\tMOVQ mult+%d(FP), R10", frame["mult"])
		g.p("\tMOVL sum+%d(FP), AX", frame["sum"])
		g.p("\tVPBROADCASTD AX, Z27")
	}
	g.p("\tMOVL floor+%d(FP), AX", frame["floor"])
	g.p("\tVPBROADCASTD AX, Z21")
	g.p("\tVBROADCASTSS zp+%d(FP), Z22", frame["zp"])
	g.p("\tVBROADCASTSS lo+%d(FP), Z23", frame["lo"])
	g.p("\tVBROADCASTSS hi+%d(FP), Z24", frame["hi"])
	g.p("\tVBROADCASTSS scale+%d(FP), Z25", frame["scale"])
	g.p("\tMOVL $0x%x, AX", roundMagic)
	g.p("\tVPBROADCASTD AX, Z26")
	g.p("\tVPXORD Z20, Z20, Z20")
	// body finishes one vector (the lanes of K1 with mask) at the current
	// pointers.
	body := func(out, mask bool) {
		z := ""
		k := ""
		if mask {
			z, k = ".Z", " K1,"
		}
		g.p("\tVMOVDQU32%s (SI),%s Z0", z, k)
		if chanConst {
			g.p("\tVMOVDQU32%s (DX),%s Z1", z, k)
			g.p("\tVPMULLD Z28, Z1, Z1")
			g.p("\tVPADDD Z27, Z0, Z0")
		} else {
			g.p("\tVMOVDQU32%s (R9),%s Z1", z, k)
			g.p("\tVMOVDQU32%s (R8),%s Z2", z, k)
			g.p("\tVPMULLD Z27, Z1, Z1")
			g.p("\tVPADDD Z2, Z0, Z0")
		}
		g.p("\tVPADDD Z1, Z0, Z0")
		g.p("\tVPMAXSD Z21, Z0, Z0")
		g.p("\tVPABSD Z0, Z1")
		if mask {
			g.p("\tVPMAXUD Z1, Z20, K1, Z20")
		} else {
			g.p("\tVPMAXUD Z1, Z20, Z20")
		}
		g.p("\tVCVTDQ2PS Z0, Z0")
		if chanConst {
			g.p("\tVMULPS Z29, Z0, Z0")
		} else {
			g.p("\tVMOVUPS%s (R10),%s Z3", z, k)
			g.p("\tVMULPS Z3, Z0, Z0")
		}
		if out {
			g.p("\tVSUBPS Z22, Z0, Z0")
			g.p("\tVMAXPS Z23, Z0, Z0")
			g.p("\tVMINPS Z24, Z0, Z0")
			g.p("\tVADDPS Z26, Z0, Z0")
			g.p("\tVSUBPS Z26, Z0, Z0")
			g.p("\tVADDPS Z22, Z0, Z0")
			g.p("\tVDIVPS Z25, Z0, Z0")
		}
		if mask {
			g.p("\tVMOVUPS Z0, K1, (DI)")
		} else {
			g.p("\tVMOVUPS Z0, (DI)")
		}
	}
	step := func() {
		g.p("\tADDQ $64, SI")
		g.p("\tADDQ $64, DI")
		if chanConst {
			g.p("\tADDQ $64, DX")
		} else {
			g.p("\tADDQ $64, R8")
			g.p("\tADDQ $64, R9")
			g.p("\tADDQ $64, R10")
		}
	}
	g.p("\tMOVBLZX out+%d(FP), AX", frame["out"])
	g.p("\tTESTL AX, AX")
	g.p("\tJNZ %s_out", pfx)
	for _, out := range []bool{false, true} {
		lbl := pfx + "_plain"
		if out {
			lbl = pfx + "_out"
		}
		g.p("%s:", lbl)
		g.p("\tCMPQ CX, $16")
		g.p("\tJLT %s_tail", lbl)
		body(out, false)
		step()
		g.p("\tSUBQ $16, CX")
		g.p("\tJMP %s", lbl)
		g.p("%s_tail:", lbl)
		g.p("\tTESTQ CX, CX")
		g.p("\tJZ %s_done", pfx)
		tailMask(g)
		body(out, true)
		g.p("\tJMP %s_done", pfx)
	}
	g.p("%s_done:", pfx)
	g.p("\tVEXTRACTI64X4 $1, Z20, Y1")
	g.p("\tVPMAXUD Y1, Y20, Y0")
	g.p("\tVEXTRACTI128 $1, Y0, X1")
	g.p("\tVPMAXUD X1, X0, X0")
	g.p("\tVPSHUFD $0x4e, X0, X1")
	g.p("\tVPMAXUD X1, X0, X0")
	g.p("\tVPSHUFD $0xb1, X0, X1")
	g.p("\tVPMAXUD X1, X0, X0")
	g.p("\tVMOVD X0, AX")
	g.p("\tMOVL AX, ret+%d(FP)", frame["ret"])
	g.p("\tVZEROUPPER")
	g.p("\tRET")
	g.p("")
}
