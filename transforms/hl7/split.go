package hl7

// Split splits a file or batch into messages. Each message starts at a line
// beginning with "MSH" and runs to the line before the next MSH, batch line
// or end of data. FHS, BHS, BTS and FTS lines and blank lines between
// messages are dropped, as is anything before the first MSH. CR, LF and CRLF
// terminators are all recognised. The results are sub-slices of data (no
// copy), trimmed of leading and trailing whitespace; blank lines inside a
// message are kept (Parse tolerates them).
func Split(data []byte) [][]byte {
	var out [][]byte
	start, end := -1, -1
	s := lineScanner{b: data}
	for {
		ls, le, _, ok := s.next()
		if !ok {
			break
		}
		from, to := ls, le
		for from < to && isSpace(data[from]) {
			from++
		}
		for to > from && isSpace(data[to-1]) {
			to--
		}
		line := data[from:to]
		switch {
		case len(line) == 0:
		case len(line) >= 4 && string(line[:3]) == "MSH" && !isAlnum(line[3]):
			if start >= 0 {
				out = append(out, data[start:end])
			}
			start, end = from, to
		case isBatchLine(line):
			if start >= 0 {
				out = append(out, data[start:end])
			}
			start = -1
		case start >= 0:
			end = to
		}
	}
	if start >= 0 {
		out = append(out, data[start:end])
	}
	return out
}
