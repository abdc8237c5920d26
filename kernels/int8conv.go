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
	if workers == 1 {
		p.convPanels(dst, ldd, img, &g, 0, panels)
		return
	}
	var wg sync.WaitGroup
	for wk := 1; wk < workers; wk++ {
		lo, hi := panels*wk/workers, panels*(wk+1)/workers
		wg.Go(func() { p.convPanels(dst, ldd, img, &g, lo, hi) })
	}
	p.convPanels(dst, ldd, img, &g, 0, panels/workers)
	wg.Wait()
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
