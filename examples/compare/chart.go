package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH = 760, 440
	left, right    = 70, 230 // the legend sits on the right
	top, bottom    = 40, 60
)

// series is one setup's line.
type series struct {
	label  string
	color  string
	points []point
}

// colors of the setups, by name.
var colors = map[string]string{"plain": "#c0392b", "pool": "#1e8449", "cluster": "#2471a3"}

// writeChart draws p50 (dashed) and p99 (solid) latency of the successful
// responses against the offered load, one colour per setup, on a log scale.
func writeChart(w io.Writer, title string, ss []setup, points []point) error {
	var all []series
	var maxX float64
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		sr := series{label: s.label, color: colors[s.name]}
		for _, p := range points {
			if p.setup != s.name || p.p50 <= 0 {
				continue
			}
			sr.points = append(sr.points, p)
			maxX = max(maxX, float64(p.offered))
			lo, hi = min(lo, msf(p.p50)), max(hi, msf(p.p99))
		}
		all = append(all, sr)
	}
	if maxX == 0 {
		return fmt.Errorf("compare: nothing to draw")
	}
	y0, y1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if y1 == y0 {
		y1++
	}
	plotW, plotH := float64(chartW-left-right), float64(chartH-top-bottom)
	x := func(v float64) float64 { return left + v/(maxX*1.08)*plotW }
	y := func(v float64) float64 { return top + plotH - (math.Log10(v)-y0)/(y1-y0)*plotH }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="14" font-weight="bold">%s</text>`+"\n", left, esc(title))
	for d := y0; d <= y1; d++ { // decade grid lines
		v := math.Pow(10, d)
		fmt.Fprintf(&b, `<line x1="%d" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, x(maxX*1.08), y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y(v)+4, esc(ms(time.Duration(v*float64(time.Millisecond)))))
	}
	for _, p := range all[0].points { // x ticks at the offered loads
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x(float64(p.offered)), chartH-bottom+18, p.offered)
	}
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#333"/>`+"\n", left, left, top, chartH-bottom)
	fmt.Fprintf(&b, `<line x1="%d" x2="%.1f" y1="%d" y2="%d" stroke="#333"/>`+"\n", left, x(maxX*1.08), chartH-bottom, chartH-bottom)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">offered load (requests/s)</text>`+"\n", left+plotW/2, chartH-bottom+40)
	fmt.Fprintf(&b, `<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">latency of successful responses (log scale)</text>`+"\n", top+plotH/2)
	for i, sr := range all {
		line(&b, sr, x, y, func(p point) time.Duration { return p.p99 }, "")
		line(&b, sr, x, y, func(p point) time.Duration { return p.p50 }, ` stroke-dasharray="5 4"`)
		ly := top + 10 + i*44
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2.5"/>`+"\n", chartW-right+20, chartW-right+44, ly, ly, sr.color)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", chartW-right+50, ly+4, esc(sr.label))
	}
	ly := top + 10 + len(all)*44
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555">solid: p99, dashed: p50</text>`+"\n", chartW-right+20, ly)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// line draws one latency quantile of sr as a polyline with dots.
func line(b *strings.Builder, sr series, x, y func(float64) float64, q func(point) time.Duration, style string) {
	var pts []string
	for _, p := range sr.points {
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(float64(p.offered)), y(msf(q(p)))))
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
