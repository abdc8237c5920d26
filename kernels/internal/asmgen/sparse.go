package main

import "strings"

// spmmRows512 writes spmmRowsAVX512 (acc false) and spmmRowsAccAVX512 (acc
// true): for rows consecutive rows i of a CSR slice whose entries start at
// vals and cols and whose row lengths are rowptr[i+1]-rowptr[i], and for
// j < ncols ≤ 64,
//
//	dst[i*ld+j] = Σ_e vals[e]·b[cols[e]*ld+j]   (acc: dst[i*ld+j] += …)
//
// The loop over rows runs here, so that a column block with a dozen
// non-zeros per row costs no call per row. The body per row is
// spmmRowAVX512's: two sets of four zmm accumulators take alternate
// non-zeros, masks K1..K4 cover the columns.
//
// With epi it writes spmmRowsEpiAVX512 / spmmRowsAccEpiAVX512, which also add
// bias[i] to row i and, when relu is not 0, clamp it at 0 before the store:
// the epilogue of the last column block of a Linear layer.
func spmmRows512(g *gen, acc, epi bool) {
	name, pfx := "spmmRowsAVX512", "spmr"
	if acc {
		name, pfx = "spmmRowsAccAVX512", "spmra"
	}
	if epi {
		name = strings.Replace(name, "AVX512", "EpiAVX512", 1)
		pfx += "e"
	}
	if epi {
		g.p("// func %s(dst *float32, vals *float32, cols *int32, rowptr *int32, rows int, b *float32, ld, ncols int, bias *float32, relu int)", name)
		g.p("TEXT ·%s(SB), NOSPLIT, $0-80", name)
	} else {
		g.p("// func %s(dst *float32, vals *float32, cols *int32, rowptr *int32, rows int, b *float32, ld, ncols int)", name)
		g.p("TEXT ·%s(SB), NOSPLIT, $0-64", name)
	}
	columnMasks(g, "ncols+56(FP)", pfx)
	g.p("\tMOVQ dst+0(FP), DI")
	g.p("\tMOVQ vals+8(FP), SI")
	g.p("\tMOVQ cols+16(FP), DX")
	g.p("\tMOVQ rowptr+24(FP), R12")
	g.p("\tMOVQ rows+32(FP), R13")
	g.p("\tMOVQ b+40(FP), BX")
	g.p("\tMOVQ ld+48(FP), R10")
	g.p("\tSHLQ $2, R10")
	if epi {
		g.p("\tMOVQ bias+64(FP), R11")
		g.p("\tMOVQ relu+72(FP), AX")
		g.p("\tVPXORD Z7, Z7, Z7")
	}
	g.p("\tTESTQ R13, R13")
	g.p("\tJZ %s_done", pfx)
	g.p("%s_row:", pfx)
	g.p("\tMOVL 4(R12), CX")
	g.p("\tSUBL (R12), CX")
	g.p("\tADDQ $4, R12")
	for _, z := range []int{0, 1, 2, 3, 8, 9, 10, 11} {
		g.p("\tVPXORD Z%d, Z%d, Z%d", z, z, z)
	}
	if acc {
		for v := 0; v < 4; v++ {
			g.p("\tVMOVUPS %d(DI), K%d, Z%d", 64*v, v+1, v)
		}
	}
	csrRowProduct(g, pfx)
	if epi {
		g.p("\tVBROADCASTSS (R11), Z6")
		g.p("\tADDQ $4, R11")
		for v := 0; v < 4; v++ {
			g.p("\tVADDPS Z6, Z%d, Z%d", v, v)
		}
		g.p("\tTESTQ AX, AX")
		g.p("\tJZ %s_put", pfx)
		for v := 0; v < 4; v++ {
			g.p("\tVMAXPS Z7, Z%d, Z%d", v, v)
		}
		g.p("%s_put:", pfx)
	}
	for v := 0; v < 4; v++ {
		g.p("\tVMOVUPS Z%d, K%d, %d(DI)", v, v+1, 64*v)
	}
	g.p("\tADDQ R10, DI")
	g.p("\tDECQ R13")
	g.p("\tJNZ %s_row", pfx)
	g.p("%s_done:", pfx)
	g.p("\tVZEROUPPER")
	g.p("\tRET")
	g.p("")
}

// columnMasks sets K1..K4 to the masks of the first ncols (the argument at
// ncolsArg, at most 64) of four 16-lane vectors, using AX and CX.
func columnMasks(g *gen, ncolsArg, pfx string) {
	g.p("\tMOVQ %s, CX", ncolsArg)
	g.p("\tMOVQ $-1, AX")
	g.p("\tCMPQ CX, $64")
	g.p("\tJGE %s_mask", pfx)
	g.p("\tMOVQ $1, AX")
	g.p("\tSHLQ CX, AX")
	g.p("\tDECQ AX")
	g.p("%s_mask:", pfx)
	for i := 1; i <= 4; i++ {
		g.p("\tKMOVW AX, K%d", i)
		if i < 4 {
			g.p("\tSHRQ $16, AX")
		}
	}
}

// csrRowProduct adds the CX non-zeros of one CSR row (values at SI, columns
// at DX, both advanced past them) times the rows of b (BX, R10 bytes apart)
// into Z0..Z3 under the masks K1..K4: alternate non-zeros go to Z0..Z3 and
// Z8..Z11, which are then summed into Z0..Z3.
func csrRowProduct(g *gen, pfx string) {
	g.p("\tCMPQ CX, $2")
	g.p("\tJLT %s_tail", pfx)
	g.p("%s_loop2:", pfx)
	g.p("\tVBROADCASTSS (SI), Z4")
	g.p("\tVBROADCASTSS 4(SI), Z12")
	g.p("\tMOVLQSX (DX), R8")
	g.p("\tMOVLQSX 4(DX), R9")
	g.p("\tIMULQ R10, R8")
	g.p("\tIMULQ R10, R9")
	g.p("\tADDQ BX, R8")
	g.p("\tADDQ BX, R9")
	for v := 0; v < 4; v++ {
		g.p("\tVFMADD231PS %d(R8), Z4, K%d, Z%d", 64*v, v+1, v)
		g.p("\tVFMADD231PS %d(R9), Z12, K%d, Z%d", 64*v, v+1, 8+v)
	}
	g.p("\tADDQ $8, SI")
	g.p("\tADDQ $8, DX")
	g.p("\tSUBQ $2, CX")
	g.p("\tCMPQ CX, $2")
	g.p("\tJGE %s_loop2", pfx)
	g.p("%s_tail:", pfx)
	g.p("\tTESTQ CX, CX")
	g.p("\tJZ %s_store", pfx)
	g.p("\tVBROADCASTSS (SI), Z4")
	g.p("\tMOVLQSX (DX), R8")
	g.p("\tIMULQ R10, R8")
	g.p("\tADDQ BX, R8")
	for v := 0; v < 4; v++ {
		g.p("\tVFMADD231PS %d(R8), Z4, K%d, Z%d", 64*v, v+1, v)
	}
	g.p("\tADDQ $4, SI")
	g.p("\tADDQ $4, DX")
	g.p("%s_store:", pfx)
	for v := 0; v < 4; v++ {
		g.p("\tVADDPS Z%d, Z%d, Z%d", 8+v, v, v)
	}
}
