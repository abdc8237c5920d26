package kernels

// An int8 convolution as one implicit GEMM. The weights are the A operand,
// packed once by [PackConvS8] with their reduction dimension reordered to
// (ki, kj, channel): an image stored channels-last (h×w×c) then holds each
// of a patch's kh rows as one contiguous run of kw·c bytes. Runs are padded
// to whole 4-byte groups with zero weights, so that [PackedConvS8.Conv]
// builds the B panels of the VNNI micro-kernel (32 output positions, one
// 32-bit word per position and group) with plain word loads from the image,
// without an unrolled patch matrix. An extra weight row of ones yields every
// patch's sum, which a zero-point correction needs, in the same product.

import (
	"runtime"
	"sync"
	"unsafe"
)

// PackedConvS8 is a convolution's int8 weights packed for
// [PackedConvS8.Conv]. It is immutable and safe for concurrent use; its
// zero value is not usable.
type PackedConvS8 struct {
	cout, c, kh, kw int
	// run is a patch row's bytes (kw·c), runP that padded to a multiple of
	// 4, and kq the 4-byte groups of a patch (kh·runP/4).
	run, runP, kq int
	// a holds the cout+1 reordered weight rows (the last all ones): VNNI A
	// panels when kern is not nil, row-major rows of 4·kq bytes otherwise.
	a    []int8
	corr []int32 // 128·Σ of every panel row, for the micro-kernel
	kern int8MicroKernel
}

// PackConvS8 packs the cout×c×kh×kw int8 weight w for [PackedConvS8.Conv].
// It panics if a dimension is not positive or len(w) != cout·c·kh·kw.
func PackConvS8(w []int8, cout, c, kh, kw int) *PackedConvS8 {
	if cout <= 0 || c <= 0 || kh <= 0 || kw <= 0 {
		panic("kernels: PackConvS8: dimension not positive")
	}
	checkLen("PackConvS8", len(w), cout*c*kh*kw)
	p := &PackedConvS8{cout: cout, c: c, kh: kh, kw: kw, run: kw * c, kern: s8PackedKernel}
	p.runP = roundUp(p.run, 4)
	p.kq = kh * p.runP / 4
	k := 4 * p.kq
	rows := make([]int8, (cout+1)*k)
	for o := 0; o <= cout; o++ {
		for ch := 0; ch < c; ch++ {
			for ki := 0; ki < kh; ki++ {
				for kj := 0; kj < kw; kj++ {
					v := int8(1)
					if o < cout {
						v = w[((o*c+ch)*kh+ki)*kw+kj]
					}
					rows[o*k+ki*p.runP+kj*c+ch] = v
				}
			}
		}
	}
	if p.kern == nil {
		p.a = rows
		return p
	}
	mp := roundUp(cout+1, int8MR)
	panels := make([]uint8, mp*k)
	packS8Words(panels, int8MR, rows, k, cout+1, k, 0)
	p.a = unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(panels))), len(panels))
	p.corr = make([]int32, mp)
	for o := 0; o <= cout; o++ {
		p.corr[o] = 128 * sumS8(rows[o*k:(o+1)*k])
	}
	return p
}

// Conv computes the convolution of n images by the packed weight,
// img holding them channels-last (image i's channel ch at pixel (y, x) is
// img[((i·h + y)·w + x)·c + ch]), with the given stride and padding, padded
// pixels reading pad. Row o ≤ cout of dst, from dst[o·ldd], receives output
// channel o at the n·oh·ow output positions, image by image in row-major
// order; row cout receives every patch's sum:
//
//	for o ≤ cout, i < n, oy < oh, ox < ow {
//		var s int32
//		for ch < c, ki < kh, kj < kw {
//			iy, ix := oy·sh − ph + ki, ox·sw − pw + kj
//			v := pad
//			if 0 ≤ iy < h && 0 ≤ ix < w {
//				v = img[((i·h + iy)·w + ix)·c + ch]
//			}
//			wt := int8(1)                         // row cout
//			if o < cout {
//				wt = weight[((o·c + ch)·kh + ki)·kw + kj]
//			}
//			s += int32(v) · int32(wt)
//		}
//		dst[o·ldd + (i·oh + oy)·ow + ox] = s
//	}
//
// with oh = [ConvOutSize](h, kh, ph, sh) and ow = ConvOutSize(w, kw, pw,
// sw). The sums are exact (they fit in an int32 for any int8 weight with
// c·kh·kw ≤ 131072). Large products run in parallel over output positions.
// It panics if a size is negative, a stride not positive, ldd < n·oh·ow,
// len(img) != n·h·w·c or dst is too short.
func (p *PackedConvS8) Conv(dst []int32, ldd int, img []int8, n, h, w, sh, sw, ph, pw int, pad int8) {
	if n < 0 || h < 0 || w < 0 || ph < 0 || pw < 0 || sh <= 0 || sw <= 0 {
		panic("kernels: PackedConvS8.Conv: invalid geometry")
	}
	checkLen("PackedConvS8.Conv", len(img), n*h*w*p.c)
	g := convGeom{n: n, h: h, w: w, sh: sh, sw: sw, ph: ph, pw: pw, pad: pad}
	g.oh, g.ow = ConvOutSize(h, p.kh, ph, sh), ConvOutSize(w, p.kw, pw, sw)
	l := n * g.oh * g.ow
	if l == 0 {
		return
	}
	if ldd < l || len(dst) < p.cout*ldd+l {
		panic("kernels: PackedConvS8.Conv: dst too short")
	}
	k := 4 * p.kq
	if p.kern == nil {
		col := make([]int8, l*k)
		for j := 0; j < l; j++ {
			p.patchRow(col[j*k:(j+1)*k], img, &g, j)
		}
		GemmS8S8S32(p.cout+1, l, k, p.a, k, col, k, dst, ldd)
		return
	}
	panels := (l + int8NR - 1) / int8NR
	workers := min(runtime.GOMAXPROCS(0), panels, max(1, l*(p.cout+1)*k/(4*parallelMinWork)))
	var b blockGeom
	if p.blocks(sh, sw, g.ow) {
		buf := p.blockImages(&b, img, &g)
		defer putBytes(buf)
	}
	r := convS8Run{p: p, dst: dst, ldd: ldd, img: img, g: g, b: b}
	if workers == 1 {
		r.run(0, panels)
		return
	}
	var wg sync.WaitGroup
	for wk := 1; wk < workers; wk++ {
		lo, hi := panels*wk/workers, panels*(wk+1)/workers
		rk := r // a copy, so that r itself does not escape
		wg.Go(func() { rk.run(lo, hi) })
	}
	r.run(0, panels/workers)
	wg.Wait()
}

// convS8Run is the state of one Conv call.
type convS8Run struct {
	p   *PackedConvS8
	dst []int32
	ldd int
	img []int8
	g   convGeom
	b   blockGeom // the blocked images, if any
}

// run computes the columns of the position panels lo ≤ pj < hi.
func (r *convS8Run) run(lo, hi int) {
	if r.b.e != nil {
		r.p.blockedPanels(r.dst, r.ldd, &r.b, &r.g, lo, hi)
		return
	}
	r.p.convPanels(r.dst, r.ldd, r.img, &r.g, lo, hi)
}

// convGeom is the geometry of one Conv call.
type convGeom struct {
	n, h, w, sh, sw, ph, pw, oh, ow int
	pad                             int8
}

// convPanels computes the columns of the position panels lo ≤ pj < hi:
// it builds each B panel and runs the micro-kernel over every weight panel.
func (p *PackedConvS8) convPanels(dst []int32, ldd int, img []int8, g *convGeom, lo, hi int) {
	buf := getBytes(p.kq * 4 * int8NR)
	defer putBytes(buf)
	bp := *buf
	l := g.n * g.oh * g.ow
	rows := p.cout + 1
	for pj := lo; pj < hi; pj++ {
		j0 := pj * int8NR
		cnt := min(int8NR, l-j0)
		p.panel(bp, img, g, j0, cnt)
		for i0 := 0; i0 < rows; i0 += int8MR {
			p.kern(p.kq, &p.a[i0*4*p.kq], &bp[0], &dst[i0*ldd+j0], ldd, &p.corr[i0], min(int8MR, rows-i0), cnt)
		}
	}
}

// panel builds the B panel of the cnt ≤ 32 positions from j0 in bp. When every
// patch lies inside the image, it copies one 4-byte group of all the patches at a
// time, so that the stores run along the panel.
func (p *PackedConvS8) panel(bp []uint8, img []int8, g *convGeom, j0, cnt int) {
	var base [int8NR]int // offset of each patch's first byte in img
	per := g.oh * g.ow
	i, r := j0/per, j0%per
	oy, ox := r/g.ow, r%g.ow
	line := g.w * p.c
	fast := true
	for lane := 0; lane < cnt; lane++ {
		iy0, ix0 := oy*g.sh-g.ph, ox*g.sw-g.pw
		base[lane] = ((i*g.h+iy0)*g.w + ix0) * p.c
		inside := iy0 >= 0 && iy0+p.kh <= g.h && ix0 >= 0 && ix0+p.kw <= g.w
		fast = fast && inside && base[lane]+(p.kh-1)*line+p.runP <= len(img)
		if ox++; ox == g.ow {
			ox = 0
			if oy++; oy == g.oh {
				oy, i = 0, i+1
			}
		}
	}
	if !fast {
		for lane := 0; lane < cnt; lane++ {
			p.patchWords(bp, lane, img, g, j0+lane)
		}
		return
	}
	src := unsafe.Pointer(unsafe.SliceData(img))
	d := unsafe.Pointer(unsafe.SliceData(bp))
	words := p.runP / 4
	for ki := 0; ki < p.kh; ki++ {
		for t := 0; t < words; t++ {
			s := unsafe.Add(src, ki*line+4*t)
			for lane, b := range base[:cnt] {
				*(*uint32)(unsafe.Add(d, 4*lane)) = *(*uint32)(unsafe.Add(s, b)) ^ 0x80808080
			}
			d = unsafe.Add(d, 4*int8NR)
		}
	}
}

// patchOrigin returns the image and top-left input pixel of position j,
// and whether the whole patch lies inside the image.
func (p *PackedConvS8) patchOrigin(g *convGeom, j int) (i, iy0, ix0 int, inside bool) {
	per := g.oh * g.ow
	i, r := j/per, j%per
	iy0, ix0 = (r/g.ow)*g.sh-g.ph, (r%g.ow)*g.sw-g.pw
	inside = iy0 >= 0 && iy0+p.kh <= g.h && ix0 >= 0 && ix0+p.kw <= g.w
	return i, iy0, ix0, inside
}

// patchByte returns byte r < runP of patch row ki of position (i, iy0,
// ix0): the pixel's value, pad outside the image, 0 past the run.
func (p *PackedConvS8) patchByte(img []int8, g *convGeom, i, iy0, ix0, ki, r int) int8 {
	if r >= p.run {
		return 0
	}
	iy, ix := iy0+ki, ix0+r/p.c
	if iy < 0 || iy >= g.h || ix < 0 || ix >= g.w {
		return g.pad
	}
	return img[((i*g.h+iy)*g.w+ix)*p.c+r%p.c]
}

// patchWords writes the patch of position j into lane of the B panel bp,
// as b+128 (the micro-kernel's unsigned operand).
func (p *PackedConvS8) patchWords(bp []uint8, lane int, img []int8, g *convGeom, j int) {
	i, iy0, ix0, inside := p.patchOrigin(g, j)
	words := p.runP / 4
	last := ((i*g.h+iy0+p.kh-1)*g.w+ix0)*p.c + p.runP // one past the last byte read
	if inside && last <= len(img) {
		src := unsafe.Pointer(&img[((i*g.h+iy0)*g.w+ix0)*p.c])
		d := unsafe.Pointer(&bp[lane*4])
		line := g.w * p.c
		for ki := 0; ki < p.kh; ki++ {
			s := unsafe.Add(src, ki*line)
			for t := 0; t < words; t++ {
				*(*uint32)(d) = *(*uint32)(unsafe.Add(s, 4*t)) ^ 0x80808080
				d = unsafe.Add(d, 4*int8NR)
			}
		}
		return
	}
	for ki := 0; ki < p.kh; ki++ {
		for r := 0; r < p.runP; r++ {
			q := ki*words + r/4
			bp[q*4*int8NR+lane*4+r%4] = uint8(p.patchByte(img, g, i, iy0, ix0, ki, r)) ^ 0x80
		}
	}
}

// patchRow writes the patch of position j as a row of 4·kq bytes.
func (p *PackedConvS8) patchRow(dst []int8, img []int8, g *convGeom, j int) {
	i, iy0, ix0, _ := p.patchOrigin(g, j)
	for ki := 0; ki < p.kh; ki++ {
		for r := 0; r < p.runP; r++ {
			dst[ki*p.runP+r] = p.patchByte(img, g, i, iy0, ix0, ki, r)
		}
	}
}

// The blocked path. With stride 1, one channel or channels in whole groups
// of four, and output rows of whole groups of eight positions, Conv first
// copies the images into planes of 32-bit words (blockImages) in which a
// patch word of consecutive output positions of an output row lies in
// consecutive words, eight positions taking one ymm. The micro-kernel
// (convS8Kernels) then loads its B operand straight from those planes, four
// runs of eight positions per 32 columns, instead of from a packed panel:
// the panel's 32 scattered word loads per group were more work than the
// group's multiplications.

// blocks reports whether Conv runs the blocked path for this geometry.
func (p *PackedConvS8) blocks(sh, sw, ow int) bool {
	return haveConvS8 && p.kern != nil && sh == 1 && sw == 1 && ow%8 == 0 && (p.c == 1 || p.c%4 == 0)
}

// blockGeom is the layout of the blocked images: per image, planes of the
// padded hp×wp pixels, one plane per four channels (one plane of four
// horizontally adjacent pixels per word for one channel), and the byte
// offset of each patch group from its position's word in plane 0.
type blockGeom struct {
	planes, hp, wp int
	e              []uint32
	off            []int32
}

// blockImages writes the blocked images of img, and their layout, into b,
// in a pooled buffer that it returns; bytes are stored as v+128: with c = 4·planes, word
// ((i·planes + π)·hp + y)·wp + x holds channels 4π…4π+3 of padded pixel
// (y, x); with one channel, it holds padded pixels (y, x…x+3) of image i,
// pixels past the padded row reading pad. The patch group q = ki·runP/4 + t
// of the position at padded pixel (y, x) then lies at word (y+ki, x+4t) of
// the one plane, or at word (y+ki, x+kj) of plane π with 4t = kj·c + 4π.
func (p *PackedConvS8) blockImages(b *blockGeom, img []int8, g *convGeom) *[]uint8 {
	*b = blockGeom{planes: max(1, p.c/4), hp: g.h + 2*g.ph, wp: g.w + 2*g.pw}
	plane := b.hp * b.wp
	words := g.n * b.planes * plane
	rowLen := roundUp(b.wp+3, 8) // one channel: a padded row of bytes
	buf := getBytes(4*(words+p.kq) + rowLen)
	all := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(*buf))), words+p.kq)
	b.e = all[:words]
	b.off = unsafe.Slice((*int32)(unsafe.Pointer(&all[words])), p.kq)
	q := 0
	for ki := 0; ki < p.kh; ki++ {
		kj, ch := 0, 0 // the group's first tap and channel (c > 1)
		for t := 0; t < p.runP/4; t++ {
			off := ki * b.wp
			if p.c == 1 {
				off += 4 * t
			} else {
				off += (ch/4)*plane + kj
				if ch += 4; ch == p.c {
					kj, ch = kj+1, 0
				}
			}
			b.off[q] = int32(4 * off)
			q++
		}
	}
	padW := uint32(uint8(g.pad)^0x80) * 0x01010101
	if p.c == 1 {
		// Each row of the image goes to a padded row of v+128 bytes (eight at
		// a time), from which every word is one unaligned load.
		row := (*buf)[4*(words+p.kq):][:rowLen]
		for x := range row {
			row[x] = uint8(g.pad) ^ 0x80
		}
		inner := row[g.pw : g.pw+g.w]
		for i := 0; i < g.n; i++ {
			for y := 0; y < b.hp; y++ {
				dst := b.e[(i*b.hp+y)*b.wp : (i*b.hp+y+1)*b.wp]
				iy := y - g.ph
				if iy < 0 || iy >= g.h {
					for x := range dst {
						dst[x] = padW
					}
					continue
				}
				src := img[(i*g.h+iy)*g.w : (i*g.h+iy+1)*g.w]
				x := 0
				for ; x+8 <= len(src); x += 8 {
					*(*uint64)(unsafe.Pointer(&inner[x])) = *(*uint64)(unsafe.Pointer(&src[x])) ^ 0x8080808080808080
				}
				for ; x < len(src); x++ {
					inner[x] = uint8(src[x]) ^ 0x80
				}
				r := unsafe.Pointer(unsafe.SliceData(row))
				for x := range dst {
					dst[x] = *(*uint32)(unsafe.Add(r, x)) // x+4 ≤ wp+3 ≤ len(row)
				}
			}
		}
		return buf
	}
	src := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(img))), len(img)/4)
	for i := 0; i < g.n; i++ {
		for pi := 0; pi < b.planes; pi++ {
			e := b.e[(i*b.planes+pi)*plane : (i*b.planes+pi+1)*plane]
			for y := 0; y < b.hp; y++ {
				dst := e[y*b.wp : (y+1)*b.wp]
				iy := y - g.ph
				if iy < 0 || iy >= g.h {
					for x := range dst {
						dst[x] = padW
					}
					continue
				}
				for x := 0; x < g.pw; x++ {
					dst[x] = padW
					dst[b.wp-1-x] = padW
				}
				s := src[(i*g.h+iy)*g.w*b.planes+pi:]
				in := dst[g.pw : g.pw+g.w]
				for x := range in {
					in[x] = s[x*b.planes] ^ 0x80808080
				}
			}
		}
	}
	return buf
}

// blockedPanels computes the columns of the position panels lo ≤ pj < hi
// from the blocked images: each panel's four runs of eight positions (an
// output row holds whole runs) through the smallest kernel covering each
// weight panel's rows.
func (p *PackedConvS8) blockedPanels(dst []int32, ldd int, b *blockGeom, g *convGeom, lo, hi int) {
	l := g.n * g.oh * g.ow
	per := g.oh * g.ow
	rows := p.cout + 1
	e := (*uint8)(unsafe.Pointer(unsafe.SliceData(b.e)))
	for pj := lo; pj < hi; pj++ {
		j0 := pj * int8NR
		cnt := min(int8NR, l-j0)
		var seg [4]int
		for s := range seg {
			j := j0 + 8*min(s, (cnt-1)/8) // a run past the positions repeats the last one
			i, r := j/per, j%per
			seg[s] = 4 * ((i*b.planes*b.hp+r/g.ow)*b.wp + r%g.ow)
		}
		for i0 := 0; i0 < rows; i0 += int8MR {
			mr := min(int8MR, rows-i0)
			convS8Kernel(mr, p.kq, &p.a[i0*4*p.kq], e, &seg, &b.off[0], &dst[i0*ldd+j0], ldd, &p.corr[i0], cnt)
		}
	}
}
