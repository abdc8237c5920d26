package main

func init() {
	extraOutputs = append(extraOutputs, output{"spmv_amd64.s", []func(*gen){spmvSliced512}})
}

// spmvSliced512 writes spmvSlicedAVX512, the batch-1 product on a
// SlicedCSR: for each of slices 16-row slices (y[16s:16s+16], one zmm),
// counts[2s] groups of four vectors whose two windows are one, then
// counts[2s+1] groups with two windows, follow (window w is
// x[off[w]:off[w]+32], loaded into two zmm registers), and
//
//	y[16s+l] = Σ_v val[v][l]·x[off[w(v)] + (bits(val[v][l]) & 31)]
//
// with v running over the vectors of the slice. A lane's column within its
// window is in the low five bits of its value, the only bits of an index
// VPERMI2PS reads: each vector is loaded once, copied (the copy becomes the
// picked elements of x) and multiplied with them, so nothing is gathered from
// memory and no index is stored. The groups of one window load it once, in a
// loop of their own. Four accumulators take the four vectors of a group. When
// bias is not nil, bias[16s+l] is added, and when relu is not 0 the result is
// clamped at 0 (NaN becomes 0, as in Relu), before the store.
func spmvSliced512(g *gen) {
	name := "spmvSlicedAVX512"
	g.p("// func %s(y *float32, x *float32, counts *int32, off *int32, val *float32, slices int, bias *float32, relu int)", name)
	g.p("TEXT ·%s(SB), NOSPLIT, $0-64", name)
	g.p("\tMOVQ y+0(FP), DI")
	g.p("\tMOVQ x+8(FP), AX")
	g.p("\tMOVQ counts+16(FP), R8")
	g.p("\tMOVQ off+24(FP), R13")
	g.p("\tMOVQ val+32(FP), DX")
	g.p("\tMOVQ slices+40(FP), R9")
	g.p("\tMOVQ bias+48(FP), R10")
	g.p("\tMOVQ relu+56(FP), R11")
	g.p("\tVPXORD Z7, Z7, Z7")
	g.p("\tTESTQ R9, R9")
	g.p("\tJZ spmvs_done")
	g.p("spmvs_slice:")
	for z := 20; z < 24; z++ {
		g.p("\tVPXORD Z%d, Z%d, Z%d", z, z, z)
	}
	spmvGroups(g, "spmvs_one", "spmvs_two", true)
	spmvGroups(g, "spmvs_two", "spmvs_store", false)
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

// spmvGroups emits the loop over the next count (read from R8) groups of a
// slice, labelled label, continuing at next: with one window per group
// (both its offsets name it) when one is set, else two.
func spmvGroups(g *gen, label, next string, one bool) {
	g.p("%s:", label)
	g.p("\tMOVL (R8), CX")
	g.p("\tADDQ $4, R8")
	g.p("\tTESTQ CX, CX")
	g.p("\tJZ %s", next)
	g.p("%s_group:", label)
	g.p("\tMOVL (R13), R12")
	g.p("\tVMOVUPS (AX)(R12*4), Z28")
	g.p("\tVMOVUPS 64(AX)(R12*4), Z29")
	t := [2]int{28, 30} // the window of vectors 0-1 and of vectors 2-3
	if one {
		t[1] = 28
	} else {
		g.p("\tMOVL 4(R13), R14")
		g.p("\tVMOVUPS (AX)(R14*4), Z30")
		g.p("\tVMOVUPS 64(AX)(R14*4), Z31")
	}
	for q := 0; q < 4; q++ {
		g.p("\tVMOVUPS %d(DX), Z%d", 64*q, q+1)
	}
	for q := 0; q < 4; q++ {
		g.p("\tVMOVAPS Z%d, Z%d", q+1, q+10)
	}
	for q := 0; q < 4; q++ {
		w := t[q/2]
		g.p("\tVPERMI2PS Z%d, Z%d, Z%d", w+1, w, q+10)
	}
	for q := 0; q < 4; q++ {
		g.p("\tVFMADD231PS Z%d, Z%d, Z%d", q+1, q+10, 20+q)
	}
	g.p("\tADDQ $8, R13")
	g.p("\tADDQ $256, DX")
	g.p("\tDECQ CX")
	g.p("\tJNZ %s_group", label)
}
