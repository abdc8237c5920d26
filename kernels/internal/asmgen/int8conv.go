package main

import "fmt"

func init() {
	extraOutputs = append(extraOutputs, output{"int8conv_amd64.s", []func(*gen){
		func(g *gen) { int8ConvVNNI(g, 12) },
		func(g *gen) { int8ConvVNNI(g, 8) },
		func(g *gen) { int8ConvVNNI(g, 4) },
		maxPool2x2S32512,
	}})
}

// int8ConvVNNI writes convS8KernelVNNI<mr>, the VNNI micro-kernel of an int8
// convolution's blocked path: it computes mr rows of the 12-row A panel
// (the gemmS8KernelVNNI layout) against 32 output positions whose B operand
// is read straight from the blocked images instead of a packed panel. The
// positions are four segments of eight, segment s starting seg[s] bytes
// after e; group q of a segment's eight words lies off[q] bytes further.
// Each 16-lane B vector is one segment's eight words loaded as a ymm and the
// next segment's inserted as its upper half. The epilogue is
// gemmS8KernelVNNI's: subtract corr, store the first mr rows (at most, as
// rows says) and nr columns.
func int8ConvVNNI(g *gen, mr int) {
	name := fmt.Sprintf("convS8KernelVNNI%d", mr)
	label := fmt.Sprintf("convs8_%d", mr)
	g.p("// func %s(kq int, a *int8, e *uint8, seg *[4]int, off *int32, c *int32, ldc int, corr *int32, rows, nr int)", name)
	g.p("TEXT ·%s(SB), NOSPLIT, $0-80", name)
	nrMasks(g, "nr+72(FP)")
	g.p("\tMOVQ kq+0(FP), CX")
	g.p("\tMOVQ a+8(FP), AX")
	g.p("\tMOVQ e+16(FP), BX")
	g.p("\tMOVQ seg+24(FP), DX")
	g.p("\tMOVQ 8(DX), R9")
	g.p("\tMOVQ 16(DX), R10")
	g.p("\tMOVQ 24(DX), R11")
	g.p("\tMOVQ (DX), DX")
	g.p("\tADDQ BX, DX")
	g.p("\tADDQ BX, R9")
	g.p("\tADDQ BX, R10")
	g.p("\tADDQ BX, R11")
	g.p("\tMOVQ off+32(FP), R12")
	for i := 0; i < 2*mr; i++ {
		g.p("\tVPXORD Z%d, Z%d, Z%d", i, i, i)
	}
	g.p("%s_loop:", label)
	g.p("\tMOVLQSX (R12), R13")
	g.p("\tVMOVDQU32 (DX)(R13*1), Y24")
	g.p("\tVINSERTI32X8 $1, (R9)(R13*1), Z24, Z24")
	g.p("\tVMOVDQU32 (R10)(R13*1), Y25")
	g.p("\tVINSERTI32X8 $1, (R11)(R13*1), Z25, Z25")
	vnniRows(g, mr)
	g.p("\tADDQ $48, AX")
	g.p("\tADDQ $4, R12")
	g.p("\tDECQ CX")
	g.p("\tJNZ %s_loop", label)
	g.p("\tMOVQ c+40(FP), DI")
	g.p("\tMOVQ ldc+48(FP), SI")
	g.p("\tSHLQ $2, SI")
	g.p("\tMOVQ corr+56(FP), R8")
	g.p("\tMOVQ rows+64(FP), DX")
	storeS32Rows(g, mr, label+"_done")
}

// maxPool2x2S32512 writes maxPool2x2S32AVX512, maxPool2x2S32Go over n ≥ 1
// planes with oh, ow ≥ 1:
//
//	for i < n, oy < oh, ox < ow {
//		s := src[i*lds + 2*oy*w + 2*ox:]
//		dst[i*ldd + oy*ow + ox] = max(s[0], s[1], s[w], s[w+1])
//	}
//
// It is maxPool2x2Bias512 on int32 lanes without bias or ReLU: sixteen
// input columns of the two rows give eight outputs (the rows' maximum,
// each even lane against its odd neighbour, VPMOVQD keeping the even
// lanes); the last ow mod 8 outputs load under K1 and store under K2.
func maxPool2x2S32512(g *gen) {
	name := "maxPool2x2S32AVX512"
	g.p("// func %s(dst *int32, ldd int, src *int32, lds, n, oh, ow, w int)", name)
	g.p("TEXT ·%s(SB), NOSPLIT, $0-64", name)
	pool2x2Loops(g, "mps", func(mask bool) {
		if mask {
			g.p("\tVMOVDQU32.Z (R11), K1, Z0")
			g.p("\tVMOVDQU32.Z (R11)(R9*1), K1, Z1")
		} else {
			g.p("\tVMOVDQU32 (R11), Z0")
			g.p("\tVMOVDQU32 (R11)(R9*1), Z1")
		}
		g.p("\tVPMAXSD Z1, Z0, Z2")
		g.p("\tVPSRLQ $32, Z2, Z1")
		g.p("\tVPMAXSD Z1, Z2, Z0")
		if mask {
			g.p("\tVPMOVQD Z0, K2, (R14)")
		} else {
			g.p("\tVPMOVQD Z0, (R14)")
		}
	})
}
