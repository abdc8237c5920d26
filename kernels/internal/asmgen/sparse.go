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
	g.p("\tMOVQ ncols+56(FP), CX")
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

// spmvSliced512 writes spmvSlicedAVX512, the batch-1 product on a
// SlicedCSR: for each of chunks chunks of 32 elements of x (x advances by
// 32 per chunk) and each of slices 16-row slices of y (y[16s:16s+16], one
// zmm), counts gives the number K of 16-lane vectors of the block, and
//
//	y[16s+l] += Σ_{k<K} val[v][l]·x[32c + idx(v, l)]
//
// with v running over the vectors in storage order. The indices of four
// vectors share a 64-byte group (byte 4l+q for vector q, lane l): one load,
// three VPSRLDs (port 0) and four VPERMI2PSs (port 5), which read only the
// low 5 bits of an index, pick each lane's element from the chunk of x held
// in two zmm registers, so nothing is gathered from memory. A chunk of x that
// is all zero bits is skipped: skip[2c] and skip[2c+1] are its index and
// value bytes.
func spmvSliced512(g *gen) {
	name := "spmvSlicedAVX512"
	g.p("// func %s(y *float32, x *float32, counts *int32, idx *uint8, val *float32, chunks, slices int, skip *int64)", name)
	g.p("TEXT ·%s(SB), NOSPLIT, $0-64", name)
	g.p("\tMOVQ x+8(FP), AX")
	g.p("\tMOVQ counts+16(FP), R8")
	g.p("\tMOVQ idx+24(FP), SI")
	g.p("\tMOVQ val+32(FP), DX")
	g.p("\tMOVQ chunks+40(FP), R10")
	g.p("\tMOVQ skip+56(FP), R11")
	g.p("\tMOVQ slices+48(FP), R13")
	g.p("\tSHLQ $2, R13")
	g.p("\tTESTQ R10, R10")
	g.p("\tJZ spmvs_done")
	g.p("spmvs_chunk:")
	g.p("\tVMOVUPS (AX), Z30")
	g.p("\tVMOVUPS 64(AX), Z31")
	g.p("\tADDQ $128, AX")
	g.p("\tVPORD Z30, Z31, Z29")
	g.p("\tVPTESTMD Z29, Z29, K1")
	g.p("\tKORTESTW K1, K1")
	g.p("\tJNZ spmvs_work")
	g.p("\tADDQ R13, R8")
	g.p("\tADDQ (R11), SI")
	g.p("\tADDQ 8(R11), DX")
	g.p("\tJMP spmvs_nextchunk")
	g.p("spmvs_work:")
	g.p("\tMOVQ y+0(FP), DI")
	g.p("\tMOVQ slices+48(FP), R9")
	g.p("spmvs_slice:")
	g.p("\tMOVL (R8), CX")
	g.p("\tADDQ $4, R8")
	g.p("\tTESTQ CX, CX")
	g.p("\tJZ spmvs_next")
	g.p("\tVMOVUPS (DI), Z0")
	g.p("\tVPXORD Z5, Z5, Z5")
	g.p("\tCMPQ CX, $4")
	g.p("\tJLT spmvs_tail")
	g.p("spmvs_loop4:")
	g.p("\tVMOVDQU32 (SI), Z1")
	g.p("\tVPSRLD $8, Z1, Z2")
	g.p("\tVPSRLD $16, Z1, Z3")
	g.p("\tVPSRLD $24, Z1, Z4")
	for i := 1; i <= 4; i++ {
		g.p("\tVPERMI2PS Z31, Z30, Z%d", i)
	}
	g.p("\tVFMADD231PS (DX), Z1, Z0")
	g.p("\tVFMADD231PS 64(DX), Z2, Z5")
	g.p("\tVFMADD231PS 128(DX), Z3, Z0")
	g.p("\tVFMADD231PS 192(DX), Z4, Z5")
	g.p("\tADDQ $64, SI")
	g.p("\tADDQ $256, DX")
	g.p("\tSUBQ $4, CX")
	g.p("\tCMPQ CX, $4")
	g.p("\tJGE spmvs_loop4")
	g.p("spmvs_tail:")
	g.p("\tTESTQ CX, CX")
	g.p("\tJZ spmvs_store")
	g.p("\tVMOVDQU32 (SI), Z1")
	g.p("\tADDQ $64, SI")
	g.p("\tVPSRLD $8, Z1, Z2")
	g.p("\tVPSRLD $16, Z1, Z3")
	g.p("\tVPERMI2PS Z31, Z30, Z1")
	g.p("\tVFMADD231PS (DX), Z1, Z0")
	g.p("\tADDQ $64, DX")
	g.p("\tCMPQ CX, $2")
	g.p("\tJLT spmvs_store")
	g.p("\tVPERMI2PS Z31, Z30, Z2")
	g.p("\tVFMADD231PS (DX), Z2, Z5")
	g.p("\tADDQ $64, DX")
	g.p("\tCMPQ CX, $3")
	g.p("\tJLT spmvs_store")
	g.p("\tVPERMI2PS Z31, Z30, Z3")
	g.p("\tVFMADD231PS (DX), Z3, Z0")
	g.p("\tADDQ $64, DX")
	g.p("spmvs_store:")
	g.p("\tVADDPS Z5, Z0, Z0")
	g.p("\tVMOVUPS Z0, (DI)")
	g.p("spmvs_next:")
	g.p("\tADDQ $64, DI")
	g.p("\tDECQ R9")
	g.p("\tJNZ spmvs_slice")
	g.p("spmvs_nextchunk:")
	g.p("\tADDQ $16, R11")
	g.p("\tDECQ R10")
	g.p("\tJNZ spmvs_chunk")
	g.p("spmvs_done:")
	g.p("\tVZEROUPPER")
	g.p("\tRET")
	g.p("")
}
