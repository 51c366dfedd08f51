package hostile

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxRawBytes bounds the decoded size of one case's raw bytes (repeats
// included), so that a malformed or hostile case file cannot make the
// loader allocate without bound.
const MaxRawBytes = 4 << 20

// Unescape decodes the raw section of a case file into the pieces to send
// (see README.md in testdata/hostile for the format):
//
//   - literal LF and CR bytes are ignored, so lines can be wrapped freely;
//   - every other literal byte must be printable ASCII (0x20-0x7E) and
//     stands for itself, except "\", which starts an escape;
//   - \r \n \t \v \f \0 \s \\ stand for CR, LF, HTAB, VT, FF, NUL, SP and
//     "\"; \xHH for the byte 0xHH (two hex digits, either case);
//   - \{N:text} is text (itself decoded, repeats may nest) repeated N
//     times; a "}" inside text is written \};
//   - \| ends a piece: the bytes before and after it are sent in separate
//     writes (not allowed inside a repeat).
//
// It returns at least one piece; pieces may be empty only when the whole
// raw section is.
func Unescape(s string) ([][]byte, error) {
	d := decoder{s: s}
	pieces, err := d.run(false)
	if err != nil {
		return nil, err
	}
	return pieces, nil
}

type decoder struct {
	s     string
	i     int
	total int
}

// run decodes until the end of s or, inside a repeat, the closing "}".
func (d *decoder) run(inRepeat bool) ([][]byte, error) {
	var cur []byte
	var pieces [][]byte
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '\n' || c == '\r':
			d.i++
			continue
		case c == '}' && inRepeat:
			d.i++
			return append(pieces, cur), nil
		case c < 0x20 || c > 0x7e:
			return nil, fmt.Errorf("%w: byte 0x%02x at offset %d (write it as an escape)", ErrLiteral, c, d.i)
		case c != '\\':
			cur = append(cur, c)
			d.i++
			if err := d.grow(1); err != nil {
				return nil, err
			}
			continue
		}
		if d.i+1 == len(d.s) {
			return nil, fmt.Errorf("%w: trailing backslash", ErrEscape)
		}
		e := d.s[d.i+1]
		d.i += 2
		var b byte
		switch e {
		case 'r':
			b = '\r'
		case 'n':
			b = '\n'
		case 't':
			b = '\t'
		case 'v':
			b = '\v'
		case 'f':
			b = '\f'
		case '0':
			b = 0
		case 's':
			b = ' '
		case '\\', '}':
			b = e
		case 'x':
			if d.i+2 > len(d.s) {
				return nil, fmt.Errorf("%w: \\x needs two hex digits", ErrEscape)
			}
			v, err := strconv.ParseUint(d.s[d.i:d.i+2], 16, 8)
			if err != nil {
				return nil, fmt.Errorf("%w: \\x%s", ErrEscape, d.s[d.i:d.i+2])
			}
			d.i += 2
			b = byte(v)
		case '|':
			if inRepeat {
				return nil, fmt.Errorf("%w: \\| inside a repeat", ErrEscape)
			}
			pieces = append(pieces, cur)
			cur = nil
			continue
		case '{':
			rep, err := d.repeat()
			if err != nil {
				return nil, err
			}
			cur = append(cur, rep...)
			continue
		default:
			return nil, fmt.Errorf("%w: \\%c", ErrEscape, e)
		}
		cur = append(cur, b)
		if err := d.grow(1); err != nil {
			return nil, err
		}
	}
	if inRepeat {
		return nil, fmt.Errorf("%w: unterminated \\{", ErrEscape)
	}
	return append(pieces, cur), nil
}

// repeat decodes "N:text}" after "\{" and returns text repeated N times.
func (d *decoder) repeat() ([]byte, error) {
	colon := strings.IndexByte(d.s[d.i:], ':')
	if colon <= 0 || colon > 7 {
		return nil, fmt.Errorf("%w: \\{ needs a count and a colon", ErrEscape)
	}
	n, err := strconv.Atoi(d.s[d.i : d.i+colon])
	if err != nil || n < 0 {
		return nil, fmt.Errorf("%w: bad repeat count %q", ErrEscape, d.s[d.i:d.i+colon])
	}
	d.i += colon + 1
	before := d.total
	inner, err := d.run(true)
	if err != nil {
		return nil, err
	}
	one := inner[0]
	// The inner run counted one copy; count the others.
	if n == 0 {
		d.total = before
		return nil, nil
	}
	if len(one) > 0 && (n-1) > (MaxRawBytes-d.total)/len(one) {
		return nil, ErrTooLarge
	}
	d.total += (n - 1) * len(one)
	return []byte(strings.Repeat(string(one), n)), nil
}

func (d *decoder) grow(n int) error {
	d.total += n
	if d.total > MaxRawBytes {
		return ErrTooLarge
	}
	return nil
}

// Escape encodes b in the raw-section format, one output line per input
// line (a line break after each LF), so that Unescape(Escape(b)) returns
// b as one piece. Runs of more than 32 identical bytes become repeats.
func Escape(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); {
		c := b[i]
		j := i + 1
		for j < len(b) && b[j] == c {
			j++
		}
		if j-i > 32 {
			fmt.Fprintf(&sb, "\\{%d:%s}", j-i, escapeByte(c, true))
			i = j
			continue
		}
		sb.WriteString(escapeByte(c, false))
		if c == '\n' {
			sb.WriteByte('\n')
		}
		i++
	}
	return sb.String()
}

func escapeByte(c byte, inRepeat bool) string {
	switch c {
	case '\r':
		return `\r`
	case '\n':
		return `\n`
	case '\t':
		return `\t`
	case '\v':
		return `\v`
	case '\f':
		return `\f`
	case 0:
		return `\0`
	case '\\':
		return `\\`
	case '}':
		if inRepeat {
			return `\}`
		}
	}
	if c < 0x20 || c > 0x7e {
		return fmt.Sprintf(`\x%02x`, c)
	}
	return string(c)
}
