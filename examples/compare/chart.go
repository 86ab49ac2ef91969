package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Chart geometry, in SVG user units: each panel is chartW wide and panelH
// high (the first, latency, panel chartH), with these margins.
const (
	chartW, chartH = 960, 440
	panelH         = 360
	left, right    = 70, 380 // the legend sits on the right, wide enough for the longest label
	top, bottom    = 40, 60
)

// series is one setup's line.
type series struct {
	label  string
	color  string
	points []point
}

// colors of the setups, by name.
var colors = map[string]string{"plain": "#c0392b", "pool": "#1e8449", "proc": "#7d3c98", "cluster": "#2471a3",
	"cluster-over": "#d68910"}

// writeChart draws an SVG with, from top to bottom: p50 (dashed) and p99
// (solid) latency of the successful responses against the offered load,
// on a log scale; goodput (solid) and rejections (dashed) against the
// offered load; and, when models holds closed-loop results, goodput
// (labelled with the p99) and rejections per setup and load as bars. One
// colour per setup.
func writeChart(w io.Writer, title string, ss []setup, points []point, models []modelPoint) error {
	all := lines(ss, points)
	if len(all) == 0 || len(all[0].points) == 0 {
		return fmt.Errorf("compare: nothing to draw")
	}
	h := chartH + panelH
	if len(models) > 0 {
		h += 2 * panelH
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", chartW, h, chartW, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	latencyPanel(&b, title, all)
	fmt.Fprintf(&b, `<g transform="translate(0 %d)">`+"\n", chartH)
	goodputPanel(&b, all)
	b.WriteString("</g>\n")
	if len(models) > 0 {
		fmt.Fprintf(&b, `<g transform="translate(0 %d)">`+"\n", chartH+panelH)
		closedPanel(&b, ss, models, "Closed loops: goodput", "bars: 2xx/s, labels: p99",
			func(p modelPoint) float64 { return p.goodput }, func(p modelPoint) string { return ms(p.p99) })
		fmt.Fprintf(&b, "</g>\n"+`<g transform="translate(0 %d)">`+"\n", chartH+2*panelH)
		closedPanel(&b, ss, models, "Closed loops: rejections", "bars: 503/s, labels: share of sent",
			func(p modelPoint) float64 { return p.rejRate },
			func(p modelPoint) string {
				return fmt.Sprintf("%.0f%%", 100*float64(p.rejected)/float64(max(p.sent, 1)))
			})
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// lines returns one series per setup that has points with successes.
func lines(ss []setup, points []point) []series {
	var all []series
	for _, s := range ss {
		sr := series{label: s.label, color: colors[s.name]}
		for _, p := range points {
			if p.setup == s.name && p.p50 > 0 {
				sr.points = append(sr.points, p)
			}
		}
		if len(sr.points) > 0 {
			all = append(all, sr)
		}
	}
	return all
}

// xAxis returns the x scale of the offered load and draws its ticks,
// axis and title for a panel of height h.
func xAxis(b *strings.Builder, all []series, h int) func(float64) float64 {
	var maxX float64
	for _, sr := range all {
		for _, p := range sr.points {
			maxX = max(maxX, float64(p.offered))
		}
	}
	plotW := float64(chartW - left - right)
	x := func(v float64) float64 { return left + v/(maxX*1.08)*plotW }
	for _, p := range all[0].points { // ticks at the offered loads
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x(float64(p.offered)), h-bottom+18, p.offered)
	}
	fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#333"/>`+"\n", left, left, top, h-bottom)
	fmt.Fprintf(b, `<line x1="%d" x2="%.1f" y1="%d" y2="%d" stroke="#333"/>`+"\n", left, x(maxX*1.08), h-bottom, h-bottom)
	fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">offered load, open loop (requests/s)</text>`+"\n", left+plotW/2, h-bottom+40)
	return x
}

// latencyPanel draws p50 and p99 against the offered load, log scale.
func latencyPanel(b *strings.Builder, title string, all []series) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, sr := range all {
		for _, p := range sr.points {
			lo, hi = min(lo, msf(p.p50)), max(hi, msf(p.p99))
		}
	}
	y0, y1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if y1 == y0 {
		y1++
	}
	plotH := float64(chartH - top - bottom)
	y := func(v float64) float64 { return top + plotH - (math.Log10(v)-y0)/(y1-y0)*plotH }
	fmt.Fprintf(b, `<text x="%d" y="22" font-size="14" font-weight="bold">%s</text>`+"\n", left, esc(title))
	x := xAxis(b, all, chartH)
	for d := y0; d <= y1; d++ { // decade grid lines
		v := math.Pow(10, d)
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, chartW-right, y(v), y(v))
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y(v)+4, esc(ms(time.Duration(v*float64(time.Millisecond)))))
	}
	fmt.Fprintf(b, `<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">latency of successful responses (log scale)</text>`+"\n", top+plotH/2)
	for _, sr := range all {
		line(b, sr, x, y, func(p point) float64 { return msf(p.p99) }, "")
		line(b, sr, x, y, func(p point) float64 { return msf(p.p50) }, ` stroke-dasharray="5 4"`)
	}
	legend(b, all, "solid: p99, dashed: p50")
}

// goodputPanel draws goodput and rejections per second against the
// offered load, linear scale.
func goodputPanel(b *strings.Builder, all []series) {
	var hi float64
	for _, sr := range all {
		for _, p := range sr.points {
			hi = max(hi, float64(p.offered), p.goodput, p.rejRate)
		}
	}
	plotH := float64(panelH - top - bottom)
	y := func(v float64) float64 { return top + plotH - v/(hi*1.1)*plotH }
	fmt.Fprintf(b, `<text x="%d" y="22" font-size="14" font-weight="bold">Goodput and rejections vs offered load</text>`+"\n", left)
	x := xAxis(b, all, panelH)
	yGrid(b, y, hi*1.1)
	fmt.Fprintf(b, `<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">responses per second</text>`+"\n", top+plotH/2)
	for _, sr := range all {
		line(b, sr, x, y, func(p point) float64 { return p.goodput }, "")
		line(b, sr, x, y, func(p point) float64 { return p.rejRate }, ` stroke-dasharray="5 4"`)
	}
	legend(b, all, "solid: goodput (2xx/s), dashed: 503/s")
}

// closedPanel draws, for each closed-loop load, a bar per setup: v of
// its result on a linear scale, labelled with label.
func closedPanel(b *strings.Builder, ss []setup, models []modelPoint, title, note string, v func(modelPoint) float64, label func(modelPoint) string) {
	var loads []clientLoad
	hi := 1.0
	for _, p := range models {
		if !containsLoad(loads, p.load) {
			loads = append(loads, p.load)
		}
		hi = max(hi, v(p))
	}
	plotW, plotH := float64(chartW-left-right), float64(panelH-top-bottom)
	y := func(v float64) float64 { return top + plotH - v/(hi*1.1)*plotH }
	fmt.Fprintf(b, `<text x="%d" y="22" font-size="14" font-weight="bold">%s</text>`+"\n", left, esc(title))
	yGrid(b, y, hi*1.1)
	fmt.Fprintf(b, `<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">responses per second</text>`+"\n", top+plotH/2)
	fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#333"/>`+"\n", left, chartW-right, panelH-bottom, panelH-bottom)
	groupW := plotW / float64(len(loads))
	barW := groupW * 0.7 / float64(len(ss))
	for gi, l := range loads {
		gx := left + float64(gi)*groupW + groupW*0.15
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", gx+groupW*0.35, panelH-bottom+18, esc(l.String()))
		for si, s := range ss {
			for _, p := range models {
				if p.setup != s.name || p.load != l {
					continue
				}
				bx := gx + float64(si)*barW
				by := y(v(p))
				fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", bx+1, by, barW-2, max(y(0)-by, 0), colors[s.name])
				fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10">%s</text>`+"\n", bx+barW/2, by-4, esc(label(p)))
			}
		}
	}
	var all []series
	for _, s := range ss {
		all = append(all, series{label: s.label, color: colors[s.name]})
	}
	legend(b, all, note)
}

func containsLoad(ls []clientLoad, l clientLoad) bool {
	for _, x := range ls {
		if x == l {
			return true
		}
	}
	return false
}

// yGrid draws five grid lines with labels up to hi, on a linear scale y.
func yGrid(b *strings.Builder, y func(float64) float64, hi float64) {
	step := niceStep(hi / 5)
	for v := 0.0; v <= hi; v += step {
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, chartW-right, y(v), y(v))
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end">%.0f</text>`+"\n", left-6, y(v)+4, v)
	}
}

// niceStep rounds s up to 1, 2 or 5 times a power of ten.
func niceStep(s float64) float64 {
	if s <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(s)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= s {
			return m * p
		}
	}
	return 10 * p
}

// legend lists the setups' colours and a note on the right.
func legend(b *strings.Builder, all []series, note string) {
	for i, sr := range all {
		ly := top + 10 + i*44
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2.5"/>`+"\n", chartW-right+20, chartW-right+44, ly, ly, sr.color)
		fmt.Fprintf(b, `<text x="%d" y="%d">%s</text>`+"\n", chartW-right+50, ly+4, esc(sr.label))
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" fill="#555">%s</text>`+"\n", chartW-right+20, top+10+len(all)*44, esc(note))
}

// line draws one value of sr's points as a polyline with dots.
func line(b *strings.Builder, sr series, x, y func(float64) float64, v func(point) float64, style string) {
	var pts []string
	for _, p := range sr.points {
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(float64(p.offered)), y(v(p))))
	}
	fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="2.5"%s points="%s"/>`+"\n", sr.color, style, strings.Join(pts, " "))
	for _, p := range pts {
		xy := strings.Split(p, ",")
		fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", xy[0], xy[1], sr.color)
	}
}

func msf(d time.Duration) float64 { return max(float64(d)/float64(time.Millisecond), 0.01) }

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
