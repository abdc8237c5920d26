package main

import "fmt"

// The AVX-512 tiles of the direct convolution (kernels.ConvDirect), for
// convolutions with few taps per output (C·kh·kw small), where im2col and a
// GEMM with a short k cost more than the multiply-adds. They go to
// convdirect_amd64.s.
//
// A tile is four filters × two output rows × up to 32 output columns of one
// image. The input is read in place: tap t of the window is the input at
// element offset off[t] from the tile's first output, so one loop over the
// taps loads each input vector once and feeds it to the four filters, whose
// weights are broadcast from a panel packed tap-major (w[t*4+f]). Row B (the
// second output row) is the same loads rowB elements further on.
//
// The tile's columns are vector slots, chosen by the tile's width so that few
// lanes idle: full slots hold 16 columns of one row (the last one under the
// mask K1); a merged slot holds up to eight columns of row A in lanes 0-7 and
// the same columns of row B in lanes 8-15 (masks K4, K5), which fits the 24
// columns of a LeNet conv1 into three vectors instead of four and the eight
// of a small feature map into one.
//
// The epilogue adds the bias and, optionally, pools 2×2 (the rows' maximum,
// then each even lane against its odd neighbour) and applies the ReLU, with
// Go's max semantics (maxNaN).

func init() {
	extraOutputs = append(extraOutputs, output{"convdirect_amd64.s", []func(*gen){
		func(g *gen) { convTile512(g, "convTile2AVX512", 2, false, 4) },
		func(g *gen) { convTile512(g, "convTile1AVX512", 1, false, 4) },
		func(g *gen) { convTile512(g, "convTile1MAVX512", 1, true, 4) },
		func(g *gen) { convTile512(g, "convTileMAVX512", 0, true, 4) },
		func(g *gen) { convTile512(g, "convTile1M8AVX512", 1, true, 8) },
		func(g *gen) { convRows512(g, "convRows13AVX512", 13, 2) },
		func(g *gen) { convRows512(g, "convRows12AVX512", 12, 2) },
	}})
}

// convSlot is one vector of a tile's accumulators: row 0 or 1 of full
// vector j, or the merged vector (j = the number of full vectors).
type convSlot struct {
	row, j int
	merged bool
}

// convTile512 writes a direct-convolution tile with full vectors per row
// and, if merged, a merged vector after them:
//
//	func name(dst, x *float32, off *int32, taps int, w, bias *float32, nf, ldd, rowB, dstB int, masks uint64, flags int)
//
// off holds element offsets, w is taps×4, bias 4 values; ldd (the distance
// between the filters' output planes), rowB and dstB are in elements. masks
// packs K1, K4, K5 and K6 (the pooled store mask of the last full vector)
// in its four 16-bit fields; flags has bit 0 for pooling, bit 1 for ReLU,
// bit 2 for storing row B (unpooled), and K7 (the pooled store mask of the
// merged vector) in bits 16-31. Filters f ≥ nf are computed but not stored.
func convTile512(g *gen, name string, full int, merged bool, F int) {
	var slots []convSlot
	for r := 0; r < 2; r++ {
		for j := 0; j < full; j++ {
			slots = append(slots, convSlot{r, j, false})
		}
	}
	if merged {
		slots = append(slots, convSlot{0, full, true})
	}
	ns := len(slots)
	if F*ns > 24 {
		panic("convTile512: too many accumulators")
	}
	acc := func(f, s int) int { return f*ns + s }
	// Loads follow the accumulators, then up to four broadcast registers
	// (Z31, the epilogue's zero, is set after the tap loop).
	ldz, bc := F*ns, F*ns+ns
	nbc := min(4, 32-bc)
	lbl := func(s string, a ...any) string { return name + "_" + fmt.Sprintf(s, a...) }
	g.p("// func %s(dst, x *float32, off *int32, taps int, w, bias *float32, nf, ldd, rowB, dstB int, masks uint64, flags int)", name)
	g.p("TEXT ·%s(SB), NOSPLIT, $0-96", name)
	g.p("\tMOVQ masks+80(FP), AX")
	for _, k := range []string{"K1", "K4", "K5", "K6"} {
		g.p("\tKMOVW AX, %s", k)
		g.p("\tSHRQ $16, AX")
	}
	g.p("\tMOVQ flags+88(FP), R15")
	g.p("\tMOVQ R15, AX")
	g.p("\tSHRQ $16, AX")
	g.p("\tKMOVW AX, K7")
	g.p("\tMOVQ x+8(FP), SI")
	g.p("\tMOVQ rowB+64(FP), R8")
	g.p("\tLEAQ (SI)(R8*4), R8")
	blockLoop(g, lbl("block"))
	for f := 0; f < F; f++ {
		for s := range slots {
			a := acc(f, s)
			g.p("\tVPXORD Z%d, Z%d, Z%d", a, a, a)
		}
	}
	g.p("%s:", lbl("tap"))
	g.p("\tMOVLQSX (R9), R11")
	for s, sl := range slots {
		z := ldz + s
		base := "SI"
		if sl.row == 1 {
			base = "R8"
		}
		switch {
		case sl.merged:
			g.p("\tVMOVUPS.Z %d(SI)(R11*4), K4, Z%d", 64*sl.j, z)
			g.p("\tVMOVUPS %d(R8)(R11*4), K5, Z%d", 64*sl.j-32, z)
		case sl.j == full-1:
			g.p("\tVMOVUPS.Z %d(%s)(R11*4), K1, Z%d", 64*sl.j, base, z)
		default:
			g.p("\tVMOVUPS %d(%s)(R11*4), Z%d", 64*sl.j, base, z)
		}
	}
	for f := 0; f < F; f++ {
		z := bc + f%nbc
		g.p("\tVBROADCASTSS %d(R10), Z%d", 4*f, z)
		for s := range slots {
			g.p("\tVFMADD231PS Z%d, Z%d, Z%d", ldz+s, z, acc(f, s))
		}
	}
	g.p("\tADDQ $%d, R10", 4*F)
	g.p("\tADDQ $4, R9")
	g.p("\tDECQ CX")
	g.p("\tJNZ %s", lbl("tap"))
	g.p("\tVPXORD Z31, Z31, Z31")

	relu := func(z int, skip string) { reluIfFlag(g, "R15", z, skip) }
	for f := 0; f < F; f++ {
		if f > 0 {
			g.p("\tCMPQ DX, $%d", f)
			g.p("\tJLE %s", lbl("done"))
		}
		g.p("\tVBROADCASTSS %d(BX), Z24", 4*f)
		g.p("\tTESTQ $1, R15")
		g.p("\tJZ %s", lbl("plain%d", f))
		// Pooled: rows A and B of each full vector, then the merged one.
		for j := 0; j < full; j++ {
			maxNaN(g, acc(f, j), acc(f, full+j), 25)
			g.p("\tVPSRLQ $32, Z25, Z26")
			maxNaN(g, 25, 26, 27)
			g.p("\tVADDPS Z24, Z27, Z27")
			relu(27, lbl("pr%d_%d", f, j))
			if j == full-1 {
				g.p("\tVPMOVQD Z27, K6, %d(DI)", 32*j)
			} else {
				g.p("\tVPMOVQD Z27, %d(DI)", 32*j)
			}
		}
		if merged {
			a := acc(f, ns-1)
			g.p("\tVSHUFF32X4 $0x4e, Z%d, Z%d, Z25", a, a)
			maxNaN(g, a, 25, 26)
			g.p("\tVPSRLQ $32, Z26, Z25")
			maxNaN(g, 26, 25, 27)
			g.p("\tVADDPS Z24, Z27, Z27")
			relu(27, lbl("prm%d", f))
			g.p("\tVPMOVQD Z27, K7, %d(DI)", 32*full)
		}
		g.p("\tJMP %s", lbl("next%d", f))
		g.p("%s:", lbl("plain%d", f))
		// Unpooled: row A's vectors, then row B's when flags bit 2 is set.
		for pass := 0; pass < 2; pass++ {
			if pass == 1 {
				g.p("\tTESTQ $4, R15")
				g.p("\tJZ %s", lbl("next%d", f))
			}
			for s, sl := range slots {
				if !sl.merged && sl.row != pass {
					continue
				}
				a := acc(f, s)
				g.p("\tVADDPS Z24, Z%d, Z27", a)
				relu(27, lbl("u%d_%d_%d", f, pass, s))
				switch {
				case sl.merged && pass == 0:
					g.p("\tVMOVUPS Z27, K4, %d(DI)", 64*sl.j)
				case sl.merged:
					g.p("\tVMOVUPS Z27, K5, %d(DI)(R13*1)", 64*sl.j-32)
				case pass == 0 && sl.j == full-1:
					g.p("\tVMOVUPS Z27, K1, %d(DI)", 64*sl.j)
				case pass == 0:
					g.p("\tVMOVUPS Z27, %d(DI)", 64*sl.j)
				case sl.j == full-1:
					g.p("\tVMOVUPS Z27, K1, %d(DI)(R13*1)", 64*sl.j)
				default:
					g.p("\tVMOVUPS Z27, %d(DI)(R13*1)", 64*sl.j)
				}
			}
		}
		g.p("%s:", lbl("next%d", f))
		g.p("\tADDQ R12, DI")
	}
	g.p("\tADDQ $%d, BX", 4*F)
	g.p("\tSUBQ $%d, DX", F)
	g.p("\tJG %s", lbl("block"))
	g.p("%s:", lbl("done"))
	g.p("\tVZEROUPPER")
	g.p("\tRET")
	g.p("")
}

// convRows512 writes a direct-convolution tile for windows of many taps on a
// narrow output (up to 8 columns): F filters × 2·pairs rows, each pair of
// rows in one merged vector (row 2p in lanes 0-7, row 2p+1 in lanes 8-15,
// masks K4 and K5). With many filters per tile the tap loop is a GEMM
// micro-kernel whose B rows are read from the image in place (an implicit
// im2col): per tap, pairs vectors are loaded and F weights broadcast from a
// panel packed tap-major (w[t*F+f]).
//
//	func name(dst, x *float32, off *int32, taps int, w, bias *float32, nf, ldd, rowB, dstB int, masks uint64, flags int)
//
// Row r of the tile reads the input r·rowB elements on; output row r is
// dstB elements after row r-1 (unpooled), pooled row p dstB after p-1.
// masks and flags are as for convTile512 (K1 and K6 unused; flags bit 2 is
// ignored: all rows exist). Filters are processed in blocks of F, nf in
// all; filters f ≥ nf of the last block are computed but not stored.
func convRows512(g *gen, name string, F, pairs int) {
	if F*pairs > 26 || pairs > 2 {
		panic("convRows512: too many accumulators")
	}
	acc := func(f, p int) int { return f*pairs + p }
	lbl := func(s string, a ...any) string { return name + "_" + fmt.Sprintf(s, a...) }
	ld := 32 - 6 // load registers Z26.., broadcasts after them
	bc := ld + pairs
	nbc := 32 - bc
	g.p("// func %s(dst, x *float32, off *int32, taps int, w, bias *float32, nf, ldd, rowB, dstB int, masks uint64, flags int)", name)
	g.p("TEXT ·%s(SB), NOSPLIT, $0-96", name)
	g.p("\tMOVQ masks+80(FP), AX")
	g.p("\tSHRQ $16, AX")
	g.p("\tKMOVW AX, K4")
	g.p("\tSHRQ $16, AX")
	g.p("\tKMOVW AX, K5")
	g.p("\tMOVQ flags+88(FP), AX")
	g.p("\tSHRQ $16, AX")
	g.p("\tKMOVW AX, K7")
	// Input rows 0-3 from SI, R8, R14, R15.
	g.p("\tMOVQ x+8(FP), SI")
	g.p("\tMOVQ rowB+64(FP), AX")
	g.p("\tLEAQ (SI)(AX*4), R8")
	g.p("\tLEAQ (R8)(AX*4), R14")
	g.p("\tLEAQ (R14)(AX*4), R15")
	blockLoop(g, lbl("block"))
	for f := 0; f < F; f++ {
		for p := 0; p < pairs; p++ {
			a := acc(f, p)
			g.p("\tVPXORD Z%d, Z%d, Z%d", a, a, a)
		}
	}
	g.p("%s:", lbl("tap"))
	g.p("\tMOVLQSX (R9), R11")
	rowReg := []string{"SI", "R8", "R14", "R15"}
	for p := 0; p < pairs; p++ {
		g.p("\tVMOVUPS.Z (%s)(R11*4), K4, Z%d", rowReg[2*p], ld+p)
		g.p("\tVMOVUPS -32(%s)(R11*4), K5, Z%d", rowReg[2*p+1], ld+p)
	}
	for f := 0; f < F; f++ {
		z := bc + f%nbc
		g.p("\tVBROADCASTSS %d(R10), Z%d", 4*f, z)
		for p := 0; p < pairs; p++ {
			g.p("\tVFMADD231PS Z%d, Z%d, Z%d", ld+p, z, acc(f, p))
		}
	}
	g.p("\tADDQ $%d, R10", 4*F)
	g.p("\tADDQ $4, R9")
	g.p("\tDECQ CX")
	g.p("\tJNZ %s", lbl("tap"))

	// Epilogue: bias in Z28, zero in Z31, temporaries Z26, Z27, Z29, Z30.
	g.p("\tMOVQ flags+88(FP), AX")
	g.p("\tVPXORD Z31, Z31, Z31")
	g.p("\tLEAQ (R13)(R13*2), R11") // 3·dstB
	relu := func(z int, skip string) { reluIfFlag(g, "AX", z, skip) }
	for f := 0; f < F; f++ {
		if f > 0 {
			g.p("\tCMPQ DX, $%d", f)
			g.p("\tJLE %s", lbl("done"))
		}
		g.p("\tVBROADCASTSS %d(BX), Z28", 4*f)
		g.p("\tTESTQ $1, AX")
		g.p("\tJZ %s", lbl("plain%d", f))
		for p := 0; p < pairs; p++ {
			a := acc(f, p)
			g.p("\tVSHUFF32X4 $0x4e, Z%d, Z%d, Z29", a, a)
			maxNaN(g, a, 29, 30)
			g.p("\tVPSRLQ $32, Z30, Z29")
			maxNaN(g, 30, 29, 27)
			g.p("\tVADDPS Z28, Z27, Z27")
			relu(27, lbl("pr%d_%d", f, p))
			if p == 0 {
				g.p("\tVPMOVQD Z27, K7, (DI)")
			} else {
				g.p("\tVPMOVQD Z27, K7, (DI)(R13*1)")
			}
		}
		g.p("\tJMP %s", lbl("next%d", f))
		g.p("%s:", lbl("plain%d", f))
		for p := 0; p < pairs; p++ {
			a := acc(f, p)
			g.p("\tVADDPS Z28, Z%d, Z27", a)
			relu(27, lbl("u%d_%d", f, p))
			if p == 0 {
				g.p("\tVMOVUPS Z27, K4, (DI)")
				g.p("\tVMOVUPS Z27, K5, -32(DI)(R13*1)")
			} else {
				g.p("\tVMOVUPS Z27, K4, (DI)(R13*2)")
				g.p("\tVMOVUPS Z27, K5, -32(DI)(R11*1)")
			}
		}
		g.p("%s:", lbl("next%d", f))
		g.p("\tADDQ R12, DI")
	}
	g.p("\tADDQ $%d, BX", 4*F)
	g.p("\tSUBQ $%d, DX", F)
	g.p("\tJG %s", lbl("block"))
	g.p("%s:", lbl("done"))
	g.p("\tVZEROUPPER")
	g.p("\tRET")
	g.p("")
}

// reluIfFlag applies the ReLU to Z(z) when bit 1 of the flags in register
// flags is set, via Z30 and the zero in Z31 (NaN stays NaN, as in Relu);
// skip labels the code after it.
func reluIfFlag(g *gen, flags string, z int, skip string) {
	g.p("\tTESTQ $2, %s", flags)
	g.p("\tJZ %s", skip)
	maxNaN(g, z, 31, 30)
	g.p("\tVMOVAPS Z30, Z%d", z)
	g.p("%s:", skip)
}

// blockLoop loads the arguments both direct-convolution tiles use (weights in
// R10, dst and its strides in DI, R12 and R13, bias in BX, the filter blocks
// left in DX) and opens the loop over blocks of filters, label, which starts
// every block at the first tap (offsets in R9, count in CX). The weight
// panels follow each other, so R10 ends a block's taps at the next one's.
func blockLoop(g *gen, label string) {
	g.p("\tMOVQ w+32(FP), R10")
	g.p("\tMOVQ dst+0(FP), DI")
	g.p("\tMOVQ ldd+56(FP), R12")
	g.p("\tSHLQ $2, R12")
	g.p("\tMOVQ dstB+72(FP), R13")
	g.p("\tSHLQ $2, R13")
	g.p("\tMOVQ bias+40(FP), BX")
	g.p("\tMOVQ nf+48(FP), DX")
	g.p("%s:", label)
	g.p("\tMOVQ off+16(FP), R9")
	g.p("\tMOVQ taps+24(FP), CX")
}
