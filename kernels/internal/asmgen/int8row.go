package main

func init() {
	extraOutputs = append(extraOutputs, output{"int8row_amd64.s", []func(*gen){int8VNNIRow}})
}

// int8VNNIRow writes gemmS8KernelVNNIRow, one row of the 12×32 VNNI tile (the
// signature of gemmS8KernelVNNI; mr is ignored): the row's 4-byte groups sit 48
// bytes apart in the A panel. Four groups run per iteration into four pairs of
// accumulators (Z0..Z7), so the loop is bound by VPDPBUSD throughput rather
// than by its latency, as a single row of the 12-row kernel would be.
func int8VNNIRow(g *gen) {
	const name = "gemmS8KernelVNNIRow"
	const astep, bstep = 4 * 12, 128
	vnniPrologue(g, name)
	for i := 0; i < 8; i++ {
		g.p("\tVPXORD Z%d, Z%d, Z%d", i, i, i)
	}
	g.p("\tCMPQ CX, $4")
	g.p("\tJLT vnnirow_tail")
	g.p("vnnirow_loop4:")
	for u := 0; u < 4; u++ {
		g.p("\tVMOVDQU32 %d(BX), Z%d", u*bstep, 16+2*u)
		g.p("\tVMOVDQU32 %d(BX), Z%d", u*bstep+64, 17+2*u)
		g.p("\tVPBROADCASTD %d(AX), Z%d", u*astep, 8+u)
		g.p("\tVPDPBUSD Z%d, Z%d, Z%d", 8+u, 16+2*u, 2*u)
		g.p("\tVPDPBUSD Z%d, Z%d, Z%d", 8+u, 17+2*u, 2*u+1)
	}
	g.p("\tADDQ $%d, AX", 4*astep)
	g.p("\tADDQ $%d, BX", 4*bstep)
	g.p("\tSUBQ $4, CX")
	g.p("\tCMPQ CX, $4")
	g.p("\tJGE vnnirow_loop4")
	g.p("vnnirow_tail:")
	g.p("\tTESTQ CX, CX")
	g.p("\tJZ vnnirow_sum")
	g.p("vnnirow_loop1:")
	g.p("\tVMOVDQU32 (BX), Z16")
	g.p("\tVMOVDQU32 64(BX), Z17")
	g.p("\tVPBROADCASTD (AX), Z8")
	g.p("\tVPDPBUSD Z8, Z16, Z0")
	g.p("\tVPDPBUSD Z8, Z17, Z1")
	g.p("\tADDQ $%d, AX", astep)
	g.p("\tADDQ $%d, BX", bstep)
	g.p("\tDECQ CX")
	g.p("\tJNZ vnnirow_loop1")
	g.p("vnnirow_sum:")
	for _, r := range []int{2, 4, 6} {
		g.p("\tVPADDD Z%d, Z0, Z0", r)
		g.p("\tVPADDD Z%d, Z1, Z1", r+1)
	}
	g.p("\tVPBROADCASTD (R8), Z8")
	g.p("\tVPSUBD Z8, Z0, Z0")
	g.p("\tVPSUBD Z8, Z1, Z1")
	g.p("\tVMOVDQU32 Z0, K1, (DI)")
	g.p("\tVMOVDQU32 Z1, K2, 64(DI)")
	g.p("\tVZEROUPPER")
	g.p("\tRET")
	g.p("")
}
