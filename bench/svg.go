package bench

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
)

// targetColor gives every target the same colour in every group.
var targetColor = map[string]string{
	"direct":       "#adb5bd",
	"shellac":      "#e8590c",
	baselineTarget: "#ffa94d",
	rulesTarget:    "#c2255c",
	"haproxy":      "#1c7ed6",
	"nginx":        "#2f9e44",
	"varnish":      "#7048e8",
	"caddy":        "#0c8599",
}

// Chart geometry, in SVG user units (pixels).
const (
	svgWidth  = 1100
	svgLabelW = 90  // target names, at least
	svgBarMax = 520 // the longest bar in a group
	svgBarH   = 20
	svgGap    = 6
	svgTitleH = 34
)

// writeSVG draws a horizontal bar chart: one group per scenario, one bar
// per target, each labelled with its median and its min–max range, which
// is also drawn as a whisker. Load scenarios plot req/s (longer is
// better); the idle scenario plots bytes per connection (shorter is
// better).
func writeSVG(w io.Writer, reports []ScenarioReport, caption string) error {
	var b bytes.Buffer
	height := 70
	for _, rep := range reports {
		height += svgTitleH + len(rep.Rows)*(svgBarH+svgGap) + 18
	}
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="13">
<rect width="100%%" height="100%%" fill="#ffffff"/>
<text x="16" y="28" font-size="20" font-weight="bold" fill="#212529">shellac bench</text>
<text x="16" y="48" font-size="12" fill="#495057">%s</text>
`, svgWidth, height, svgWidth, height, esc(caption))
	// The label column fits the longest target name (about 8 units per
	// character at this font size).
	labelW := svgLabelW
	for _, rep := range reports {
		for _, r := range rep.Rows {
			labelW = max(labelW, 8*len(r.Target)+8)
		}
	}
	y := 70
	for _, rep := range reports {
		unit, better := "req/s", "longer is better"
		if rep.Idle {
			unit, better = "bytes per idle connection", "shorter is better"
		}
		fmt.Fprintf(&b, `<g class="scenario" id="%s">
<text x="16" y="%d" font-size="15" font-weight="bold" fill="#212529">%s</text>
<text x="%d" y="%d" font-size="11" fill="#868e96" text-anchor="end">%s, %s</text>
`, esc(rep.Name), y+20, esc(rep.Title), svgWidth-16, y+20, unit, better)
		y += svgTitleH
		// Scale to the proxies; a direct bar far longer than all of them
		// is cut short with a break mark so the proxies stay readable.
		top, direct := 0.0, 0.0
		for _, r := range rep.Rows {
			v := r.ReqPerSec.Max
			if rep.Idle {
				v = r.BytesPerConn.Max
			}
			if r.Target == "direct" {
				direct = v
			} else {
				top = max(top, v)
			}
		}
		if top == 0 || direct < 1.5*top {
			top = max(top, direct)
		} else {
			top *= 1.15
		}
		for _, r := range rep.Rows {
			color := targetColor[r.Target]
			if color == "" {
				color = "#495057"
			}
			fmt.Fprintf(&b, `<text x="16" y="%d" fill="#212529"%s>%s</text>
`, y+15, boldIf(r.Target == "shellac"), esc(r.Target))
			x0 := 16 + labelW
			if r.Runs == 0 {
				fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#c92a2a">failed: %s</text>
`, x0, y+15, esc(trim(firstLine(r.Err), 100)))
				y += svgBarH + svgGap
				continue
			}
			st, label := r.ReqPerSec, ""
			if rep.Idle {
				st = r.BytesPerConn
				label = fmtBytes(st.Median) + "/conn"
				if r.Runs > 1 {
					label += fmt.Sprintf(" (%s–%s)", fmtBytes(st.Min), fmtBytes(st.Max))
				}
			} else {
				label = fmtRate(st.Median) + " req/s"
				if r.Runs > 1 {
					label += fmt.Sprintf(" (%s–%s)", fmtRate(st.Min), fmtRate(st.Max))
				}
				if r.VsBestPeer > 0 && r.Target != rep.BestPeer {
					label += fmt.Sprintf(" · %.2f× best peer", r.VsBestPeer)
				} else if r.Target == rep.BestPeer {
					label += " · best peer"
				}
				if r.CPUPerReqUS > 0 {
					label += fmt.Sprintf(" · %.1f µs CPU/req", r.CPUPerReqUS)
				}
			}
			clipped := st.Median > top
			scale := func(v float64) float64 {
				if top <= 0 {
					return 0
				}
				return min(max(v, 0)/top, 1.04) * svgBarMax
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" rx="2" fill="%s"><title>%s %s</title></rect>
`, x0, y, scale(st.Median), svgBarH, color, esc(r.Target), esc(label))
			if clipped {
				bx := float64(x0) + scale(top) - 18
				fmt.Fprintf(&b, `<path d="M%.1f %dl6 %dM%.1f %dl6 %d" stroke="#ffffff" stroke-width="3"/>
`, bx, y-1, svgBarH+2, bx+7, y-1, svgBarH+2)
			} else if st.Max > st.Min {
				cy := y + svgBarH/2
				fmt.Fprintf(&b, `<path d="M%.1f %dH%.1fM%.1f %dV%dM%.1f %dV%d" stroke="#212529" stroke-width="1.2" fill="none"/>
`, float64(x0)+scale(st.Min), cy, float64(x0)+scale(st.Max),
					float64(x0)+scale(st.Min), cy-5, cy+5, float64(x0)+scale(st.Max), cy-5, cy+5)
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#343a40">%s</text>
`, float64(x0)+scale(max(st.Max, st.Median))+8, y+15, esc(label))
			y += svgBarH + svgGap
		}
		b.WriteString("</g>\n")
		y += 18
	}
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

func boldIf(ok bool) string {
	if ok {
		return ` font-weight="bold"`
	}
	return ""
}

// trim shortens s to at most n runes.
func trim(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// esc escapes text for XML character data and attribute values.
func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
