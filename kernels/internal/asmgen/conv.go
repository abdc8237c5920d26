package main

// The AVX-512 kernels of the convolution inference path: the unpadded,
// stride-1 im2col rows (im2colRowsAVX512) and the fused bias, ReLU and 2×2
// max pooling that follows a convolution's GEMM (maxPool2x2BiasAVX512).
// They go to conv_amd64.s.

func init() {
	extraOutputs = append(extraOutputs, output{"conv_amd64.s", []func(*gen){
		im2colRows512, maxPool2x2Bias512,
	}})
}

// im2colRows512 writes im2colRowsAVX512: the kw im2col rows of one
// (channel, kernel row) of an unpadded, stride-1 convolution,
//
//	for kj < kw, oy < outH, ox < outW {
//		dst[kj*ldd + oy*outW + ox] = src[oy*w + kj + ox]
//	}
//
// 16 floats at a time with a masked tail (K1, the low outW mod 16 bits).
func im2colRows512(g *gen) {
	name := "im2colRowsAVX512"
	g.p("// func %s(dst *float32, ldd int, src *float32, w, kw, outH, outW int)", name)
	g.p("TEXT ·%s(SB), NOSPLIT, $0-56", name)
	g.p("\tMOVQ dst+0(FP), DI")
	g.p("\tMOVQ ldd+8(FP), R13")
	g.p("\tSHLQ $2, R13")
	g.p("\tMOVQ src+16(FP), SI")
	g.p("\tMOVQ w+24(FP), R9")
	g.p("\tSHLQ $2, R9")
	g.p("\tMOVQ kw+32(FP), R8")
	g.p("\tMOVQ outW+48(FP), R10")
	g.p("\tMOVQ R10, CX")
	g.p("\tANDQ $15, CX")
	g.p("\tMOVQ $1, AX")
	g.p("\tSHLQ CX, AX")
	g.p("\tDECQ AX")
	g.p("\tKMOVW AX, K1")
	// Rows of at most 8 floats: K2 = K1<<outW places the second row of a
	// pair, K3 = K1|K2 covers both.
	g.p("\tMOVQ AX, DX")
	g.p("\tSHLQ CX, DX")
	g.p("\tKMOVW DX, K2")
	g.p("\tORQ AX, DX")
	g.p("\tKMOVW DX, K3")
	g.p("\tMOVQ R10, BX")
	g.p("\tSHRQ $4, BX")  // full vectors per row
	g.p("\tSHLQ $2, R10") // outW·4
	g.p("i2c_kj:")
	g.p("\tMOVQ SI, R14")
	g.p("\tMOVQ DI, R15")
	g.p("\tMOVQ outH+40(FP), DX")
	// Rows of at most 15 floats (K1 nonzero): one masked vector each, two
	// rows per iteration.
	g.p("\tTESTQ BX, BX")
	g.p("\tJNZ i2c_row")
	g.p("\tCMPQ R10, $32")
	g.p("\tJGT i2c_short2")
	// Rows of at most 8 floats: a pair of rows is contiguous in dst, so
	// it goes out in one store (VEXPANDPS puts the second row above the
	// first).
	g.p("i2c_pair:")
	g.p("\tCMPQ DX, $2")
	g.p("\tJLT i2c_short1")
	g.p("\tVMOVUPS.Z (R14), K1, Z0")
	g.p("\tVEXPANDPS (R14)(R9*1), K2, Z0")
	g.p("\tVMOVUPS Z0, K3, (R15)")
	g.p("\tLEAQ (R14)(R9*2), R14")
	g.p("\tLEAQ (R15)(R10*2), R15")
	g.p("\tSUBQ $2, DX")
	g.p("\tJMP i2c_pair")
	g.p("i2c_short2:")
	g.p("\tCMPQ DX, $2")
	g.p("\tJLT i2c_short1")
	g.p("\tVMOVUPS.Z (R14), K1, Z0")
	g.p("\tVMOVUPS.Z (R14)(R9*1), K1, Z1")
	g.p("\tVMOVUPS Z0, K1, (R15)")
	g.p("\tVMOVUPS Z1, K1, (R15)(R10*1)")
	g.p("\tLEAQ (R14)(R9*2), R14")
	g.p("\tLEAQ (R15)(R10*2), R15")
	g.p("\tSUBQ $2, DX")
	g.p("\tJMP i2c_short2")
	g.p("i2c_short1:")
	g.p("\tTESTQ DX, DX")
	g.p("\tJZ i2c_kjnext")
	g.p("\tVMOVUPS.Z (R14), K1, Z0")
	g.p("\tVMOVUPS Z0, K1, (R15)")
	g.p("\tJMP i2c_kjnext")
	g.p("i2c_row:")
	g.p("\tMOVQ R14, R11")
	g.p("\tMOVQ R15, R12")
	g.p("\tMOVQ BX, CX")
	g.p("\tTESTQ CX, CX")
	g.p("\tJZ i2c_tail")
	g.p("i2c_vec:")
	g.p("\tVMOVUPS (R11), Z0")
	g.p("\tVMOVUPS Z0, (R12)")
	g.p("\tADDQ $64, R11")
	g.p("\tADDQ $64, R12")
	g.p("\tDECQ CX")
	g.p("\tJNZ i2c_vec")
	g.p("i2c_tail:")
	g.p("\tKORTESTW K1, K1")
	g.p("\tJZ i2c_next")
	g.p("\tVMOVUPS.Z (R11), K1, Z0")
	g.p("\tVMOVUPS Z0, K1, (R12)")
	g.p("i2c_next:")
	g.p("\tADDQ R9, R14")
	g.p("\tADDQ R10, R15")
	g.p("\tDECQ DX")
	g.p("\tJNZ i2c_row")
	g.p("i2c_kjnext:")
	g.p("\tADDQ $4, SI")
	g.p("\tADDQ R13, DI")
	g.p("\tDECQ R8")
	g.p("\tJNZ i2c_kj")
	g.p("\tVZEROUPPER")
	g.p("\tRET")
	g.p("")
}

// maxPool2x2Bias512 writes maxPool2x2BiasAVX512, maxPool2x2BiasGo over
// n ≥ 1 planes with oh, ow ≥ 1:
//
//	for i < n, oy < oh, ox < ow {
//		s := src[i*lds + 2*oy*w + 2*ox:]
//		v := max(s[0], s[1], s[w], s[w+1]) + bias
//		if relu { v = max(v, 0) }
//		dst[i*ldd + oy*ow + ox] = v
//	}
//
// max is Go's (see maxNaN). Sixteen input
// columns of the two rows give eight outputs: the rows' maximum, then
// each even lane against its odd neighbour (VPSRLQ $32), and VPMOVQD
// keeps the even lanes. The last ow mod 8 outputs load under K1 (2·rest
// lanes) and store under K2 (rest lanes).
func maxPool2x2Bias512(g *gen) {
	name := "maxPool2x2BiasAVX512"
	g.p("// func %s(dst *float32, ldd int, src *float32, lds, n, oh, ow, w int, bias float32, relu bool)", name)
	g.p("TEXT ·%s(SB), NOSPLIT, $0-69", name)
	g.p("\tVBROADCASTSS bias+64(FP), Z30")
	g.p("\tVPXORD Z31, Z31, Z31")
	g.p("\tMOVBQZX relu+68(FP), R15")
	// body pools the group at (R11) (row 1 at (R11)(R9*1)) into (R14).
	pool2x2Loops(g, "mp", func(mask bool) {
		if mask {
			g.p("\tVMOVUPS.Z (R11), K1, Z0")
			g.p("\tVMOVUPS.Z (R11)(R9*1), K1, Z1")
		} else {
			g.p("\tVMOVUPS (R11), Z0")
			g.p("\tVMOVUPS (R11)(R9*1), Z1")
		}
		maxNaN(g, 1, 0, 2)
		g.p("\tVPSRLQ $32, Z2, Z1")
		maxNaN(g, 1, 2, 0)
		g.p("\tVADDPS Z30, Z0, Z0")
		g.p("\tTESTQ R15, R15")
		lbl := "mp_store"
		if mask {
			lbl = "mp_storet"
		}
		g.p("\tJZ %s", lbl)
		maxNaN(g, 31, 0, 2)
		g.p("\tVMOVAPS Z2, Z0")
		g.p("%s:", lbl)
		if mask {
			g.p("\tVPMOVQD Z0, K2, (R14)")
		} else {
			g.p("\tVPMOVQD Z0, (R14)")
		}
	})
}

// pool2x2Loops writes the loops of a 2×2 max pooling over 4-byte elements,
// with the arguments (dst, ldd, src, lds, n, oh, ow, w) of maxPool2x2Bias:
// for every plane and output row, body(false) pools each group of eight
// outputs and body(true) the last ow mod 8 of them (input columns under K1,
// outputs under K2), the group's two input rows at (R11) and (R11)(R9*1),
// its outputs at (R14). pfx prefixes the labels.
func pool2x2Loops(g *gen, pfx string, body func(mask bool)) {
	g.p("\tMOVQ dst+0(FP), DI")
	g.p("\tMOVQ ldd+8(FP), R13")
	g.p("\tSHLQ $2, R13")
	g.p("\tMOVQ src+16(FP), SI")
	g.p("\tMOVQ lds+24(FP), R12")
	g.p("\tSHLQ $2, R12")
	g.p("\tMOVQ w+56(FP), R9")
	g.p("\tSHLQ $2, R9")
	g.p("\tMOVQ ow+48(FP), R10")
	g.p("\tMOVQ R10, CX")
	g.p("\tANDQ $7, CX")
	g.p("\tMOVQ $1, AX")
	g.p("\tSHLQ CX, AX")
	g.p("\tDECQ AX")
	g.p("\tKMOVW AX, K2")
	g.p("\tSHLQ CX, AX") // 2·rest low bits: (1<<rest−1)<<rest | (1<<rest−1)
	g.p("\tMOVQ $1, DX")
	g.p("\tSHLQ CX, DX")
	g.p("\tDECQ DX")
	g.p("\tORQ DX, AX")
	g.p("\tKMOVW AX, K1")
	g.p("\tMOVQ R10, BX")
	g.p("\tSHRQ $3, BX") // full groups of eight outputs per row
	g.p("\tMOVQ n+32(FP), R8")
	g.p("%s_plane:", pfx)
	g.p("\tMOVQ SI, AX")
	g.p("\tMOVQ DI, DX")
	g.p("\tMOVQ oh+40(FP), CX")
	g.p("%s_row:", pfx)
	g.p("\tMOVQ AX, R11")
	g.p("\tMOVQ DX, R14")
	g.p("\tMOVQ BX, R10")
	g.p("\tTESTQ R10, R10")
	g.p("\tJZ %s_tail", pfx)
	g.p("%s_vec:", pfx)
	body(false)
	g.p("\tADDQ $64, R11")
	g.p("\tADDQ $32, R14")
	g.p("\tDECQ R10")
	g.p("\tJNZ %s_vec", pfx)
	g.p("%s_tail:", pfx)
	g.p("\tKORTESTW K2, K2")
	g.p("\tJZ %s_next", pfx)
	body(true)
	g.p("%s_next:", pfx)
	g.p("\tLEAQ (AX)(R9*2), AX")
	g.p("\tMOVQ ow+48(FP), R10")
	g.p("\tLEAQ (DX)(R10*4), DX")
	g.p("\tDECQ CX")
	g.p("\tJNZ %s_row", pfx)
	g.p("\tADDQ R12, SI")
	g.p("\tADDQ R13, DI")
	g.p("\tDECQ R8")
	g.p("\tJNZ %s_plane", pfx)
	g.p("\tVZEROUPPER")
	g.p("\tRET")
	g.p("")
}

// maxNaN sets Z(dst) to Go's max(Z(a), Z(b)), using K3: VRANGEPS $5 (the
// larger, sign from the comparison, so +0 is above −0), then, in the lanes
// where either operand is a NaN (VCMPPS UNORD), their sum, which is a NaN.
func maxNaN(g *gen, a, b, dst int) {
	g.p("\tVRANGEPS $5, Z%d, Z%d, Z%d", a, b, dst)
	g.p("\tVCMPPS $3, Z%d, Z%d, K3", a, b)
	g.p("\tVADDPS Z%d, Z%d, K3, Z%d", a, b, dst)
}
