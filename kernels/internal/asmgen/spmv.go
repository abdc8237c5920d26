package main

func init() {
	extraOutputs = append(extraOutputs, output{"spmv_amd64.s", []func(*gen){spmvSliced512}})
}

// spmvSliced512 writes spmvSlicedAVX512, the batch-1 product on a
// SlicedCSR: for each of slices 16-row slices (y[16s:16s+16], one zmm),
// groups[s] groups of four vectors follow, each with two windows of x
// (window w is x[off[w]:off[w]+32], loaded into two zmm registers) and
//
//	y[16s+l] = Σ_v val[v][l]·x[off[w(v)] + idx(v, l)]
//
// with v running over the vectors of the slice. The indices of a group share
// 64 bytes (byte 4l+q for vector q, lane l): one load and three VPSRLDs, and
// four VPERMI2PSs, which read only the low 5 bits of an index, pick each
// lane's element from the window's registers, so nothing is gathered from
// memory. Four accumulators take the four vectors of a group. When bias is
// not nil, bias[16s+l] is added, and when relu is not 0 the result is clamped
// at 0 (NaN becomes 0, as in Relu), before the store.
func spmvSliced512(g *gen) {
	name := "spmvSlicedAVX512"
	g.p("// func %s(y *float32, x *float32, groups *int32, off *int32, idx *uint8, val *float32, slices int, bias *float32, relu int)", name)
	g.p("TEXT ·%s(SB), NOSPLIT, $0-72", name)
	g.p("\tMOVQ y+0(FP), DI")
	g.p("\tMOVQ x+8(FP), AX")
	g.p("\tMOVQ groups+16(FP), R8")
	g.p("\tMOVQ off+24(FP), R13")
	g.p("\tMOVQ idx+32(FP), SI")
	g.p("\tMOVQ val+40(FP), DX")
	g.p("\tMOVQ slices+48(FP), R9")
	g.p("\tMOVQ bias+56(FP), R10")
	g.p("\tMOVQ relu+64(FP), R11")
	g.p("\tVPXORD Z7, Z7, Z7")
	g.p("\tTESTQ R9, R9")
	g.p("\tJZ spmvs_done")
	g.p("spmvs_slice:")
	for z := 20; z < 24; z++ {
		g.p("\tVPXORD Z%d, Z%d, Z%d", z, z, z)
	}
	g.p("\tMOVL (R8), CX")
	g.p("\tADDQ $4, R8")
	g.p("\tTESTQ CX, CX")
	g.p("\tJZ spmvs_store")
	g.p("spmvs_group:")
	g.p("\tMOVL (R13), R12")
	g.p("\tMOVL 4(R13), R14")
	g.p("\tVMOVUPS (AX)(R12*4), Z28")
	g.p("\tVMOVUPS 64(AX)(R12*4), Z29")
	g.p("\tVMOVUPS (AX)(R14*4), Z30")
	g.p("\tVMOVUPS 64(AX)(R14*4), Z31")
	g.p("\tVMOVDQU32 (SI), Z1")
	g.p("\tVPSRLD $8, Z1, Z2")
	g.p("\tVPSRLD $16, Z1, Z3")
	g.p("\tVPSRLD $24, Z1, Z4")
	g.p("\tVPERMI2PS Z29, Z28, Z1")
	g.p("\tVPERMI2PS Z29, Z28, Z2")
	g.p("\tVPERMI2PS Z31, Z30, Z3")
	g.p("\tVPERMI2PS Z31, Z30, Z4")
	for q := 0; q < 4; q++ {
		g.p("\tVFMADD231PS %d(DX), Z%d, Z%d", 64*q, q+1, 20+q)
	}
	g.p("\tADDQ $8, R13")
	g.p("\tADDQ $64, SI")
	g.p("\tADDQ $256, DX")
	g.p("\tDECQ CX")
	g.p("\tJNZ spmvs_group")
	g.p("spmvs_store:")
	g.p("\tVADDPS Z21, Z20, Z20")
	g.p("\tVADDPS Z23, Z22, Z22")
	g.p("\tVADDPS Z22, Z20, Z20")
	g.p("\tTESTQ R10, R10")
	g.p("\tJZ spmvs_relu")
	g.p("\tVADDPS (R10), Z20, Z20")
	g.p("\tADDQ $64, R10")
	g.p("spmvs_relu:")
	g.p("\tTESTQ R11, R11")
	g.p("\tJZ spmvs_put")
	g.p("\tVMAXPS Z7, Z20, Z20")
	g.p("spmvs_put:")
	g.p("\tVMOVUPS Z20, (DI)")
	g.p("\tADDQ $64, DI")
	g.p("\tDECQ R9")
	g.p("\tJNZ spmvs_slice")
	g.p("spmvs_done:")
	g.p("\tVZEROUPPER")
	g.p("\tRET")
	g.p("")
}
