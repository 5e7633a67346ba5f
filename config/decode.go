package config

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// A FileError is a configuration file that cannot be read into a Config:
// malformed JSON, a value of the wrong type, or a key the format does not
// have. Line and Col (1-based, Col in characters) locate it in the file;
// Path is the JSON path of the value or key ("fix.sessions[2].targetCompID"),
// empty for the document itself.
type FileError struct {
	Line, Col int
	Path      string
	Err       error
}

func (e *FileError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%d:%d: %v", e.Line, e.Col, e.Err)
	}
	return fmt.Sprintf("%d:%d: %s: %v", e.Line, e.Col, e.Path, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// decodeStrict decodes the JSON object in src into v, a pointer to a
// struct, as encoding/json would, except that it refuses: a key that is not
// one of the struct's json names, exactly (encoding/json matches keys
// without regard to case and, without DisallowUnknownFields, drops unknown
// ones); a key given twice (encoding/json keeps the last); anything after
// the object. Every refusal is a *FileError.
//
// It walks the document with json.Decoder's tokens, so that it knows where
// it is, and lets encoding/json decode each leaf value (strings, numbers,
// booleans and anything with its own UnmarshalText or UnmarshalJSON)
// straight into the field. It returns where each key and array element
// it read begins, for errors found later.
func decodeStrict(src []byte, v any) (*decoder, error) {
	d := &decoder{src: src, dec: json.NewDecoder(bytes.NewReader(src)), at: map[string]int{}}
	if err := d.object(reflect.ValueOf(v).Elem(), ""); err != nil {
		return nil, err
	}
	at := d.next()
	if _, err := d.dec.Token(); err != io.EOF {
		return nil, d.errAt(at, "", errors.New("more after the configuration's closing brace"))
	}
	return d, nil
}

// A decoder walks one file (decodeStrict).
type decoder struct {
	src []byte
	dec *json.Decoder
	at  map[string]int // by JSON path, the offset of each key and array element read
}

// leadingPath matches the JSON path an error message begins with.
var leadingPath = regexp.MustCompile(`^[A-Za-z]\w*(\.[A-Za-z]\w*|\[\d+\])*`)

// locate returns err, whose message begins with the JSON path of a setting
// (as Check's do), as a *FileError at that key in the file, or at the
// nearest enclosing one the file has; err itself if it has none.
func (d *decoder) locate(err error) error {
	if err == nil {
		return nil
	}
	for path := leadingPath.FindString(err.Error()); path != ""; {
		if off, ok := d.at[path]; ok {
			return d.errAt(off, "", err)
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return err
}

// next is the offset of the next token: the decoder's offset past any
// white space and the separators (':' and ',') that Token does not return.
func (d *decoder) next() int {
	off := int(d.dec.InputOffset())
	for off < len(d.src) && strings.IndexByte(" \t\r\n:,", d.src[off]) >= 0 {
		off++
	}
	return off
}

// value decodes the next JSON value into v, whose JSON path is path.
func (d *decoder) value(v reflect.Value, path string) error {
	if !decodesItself(v) {
		switch {
		case v.Kind() == reflect.Struct:
			return d.object(v, path)
		case v.Kind() == reflect.Slice && v.Type().Elem().Kind() != reflect.Uint8:
			return d.array(v, path)
		}
	}
	at := d.next()
	if err := d.dec.Decode(v.Addr().Interface()); err != nil {
		return d.fail(err, at, path, v.Type())
	}
	return nil
}

func decodesItself(v reflect.Value) bool {
	p := v.Addr().Interface()
	_, text := p.(encoding.TextUnmarshaler)
	_, js := p.(json.Unmarshaler)
	return text || js
}

// object decodes a JSON object into the struct v; null leaves v as it is,
// as encoding/json does.
func (d *decoder) object(v reflect.Value, path string) error {
	if ok, err := d.open('{', path, v.Type()); !ok {
		return err
	}
	fields := jsonFields(v.Type())
	seen := map[string]bool{}
	for d.dec.More() {
		at := d.next()
		tok, err := d.dec.Token()
		if err != nil {
			return d.fail(err, at, path, nil)
		}
		key := tok.(string) // inside an object, json.Decoder returns only string keys here
		keyPath := key
		if path != "" {
			keyPath = path + "." + key
		}
		i, ok := fields[key]
		switch {
		case !ok:
			return d.errAt(at, keyPath, unknownKey(key, fields))
		case seen[key]:
			return d.errAt(at, keyPath, errors.New("key given twice"))
		}
		seen[key] = true
		d.at[keyPath] = at
		if err := d.value(v.Field(i), keyPath); err != nil {
			return err
		}
	}
	return d.close(path)
}

// array decodes a JSON array into the slice v; null leaves v as it is.
func (d *decoder) array(v reflect.Value, path string) error {
	if ok, err := d.open('[', path, v.Type()); !ok {
		return err
	}
	v.SetLen(0)
	for i := 0; d.dec.More(); i++ {
		v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
		elemPath := fmt.Sprintf("%s[%d]", path, i)
		d.at[elemPath] = d.next()
		if err := d.value(v.Index(i), elemPath); err != nil {
			return err
		}
	}
	return d.close(path)
}

// open reads the delimiter that begins an object or array of type t; ok is
// false for null (err nil) and for anything else (err says what).
func (d *decoder) open(delim json.Delim, path string, t reflect.Type) (ok bool, err error) {
	at := d.next()
	tok, err := d.dec.Token()
	switch {
	case err != nil:
		return false, d.fail(err, at, path, nil)
	case tok == nil:
		return false, nil
	case tok != delim:
		return false, d.errAt(at, path, fmt.Errorf("got %s, want %s", describeToken(tok), describeType(t)))
	}
	return true, nil
}

// close reads the delimiter that ends an object or array.
func (d *decoder) close(path string) error {
	at := d.next()
	if _, err := d.dec.Token(); err != nil {
		return d.fail(err, at, path, nil)
	}
	return nil
}

// fail turns an error of encoding/json, met while decoding the value at
// offset at (of Go type t, if known), into a *FileError.
func (d *decoder) fail(err error, at int, path string, t reflect.Type) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// json.Decoder counts a syntax error's offset from where it began
		// the value or token; json.Unmarshal checks the whole file first and
		// counts from its start, up to and including the offending byte.
		var whole struct{}
		if errors.As(json.Unmarshal(d.src, &whole), &syntax) && !strings.HasPrefix(syntax.Error(), "unexpected end") {
			return d.errAt(max(int(syntax.Offset)-1, 0), path, fmt.Errorf("malformed JSON: %v", syntax))
		}
		return d.errAt(len(bytes.TrimRight(d.src, " \t\r\n")), path, errors.New("malformed JSON: the file ends inside a value"))
	case errors.As(err, &typ):
		return d.errAt(at, path, fmt.Errorf("got %s, want %s", typ.Value, describeType(t)))
	}
	return d.errAt(at, path, err) // a type's own UnmarshalText or UnmarshalJSON refused the value
}

// errAt is err at byte offset off of the file.
func (d *decoder) errAt(off int, path string, err error) error {
	off = min(off, len(d.src))
	lineStart := bytes.LastIndexByte(d.src[:off], '\n') + 1
	return &FileError{
		Line: bytes.Count(d.src[:off], []byte{'\n'}) + 1,
		Col:  utf8.RuneCount(d.src[lineStart:off]) + 1,
		Path: path,
		Err:  err,
	}
}

// jsonFields maps a struct type's JSON keys to its field indexes. The
// format's structs have neither embedded fields nor "-" keys.
func jsonFields(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if tag == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = i
	}
	return m
}

// unknownKey says why key is refused: another case of a known key, or not
// a key of this object at all.
func unknownKey(key string, fields map[string]int) error {
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range fields {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		if strings.EqualFold(k, key) {
			return fmt.Errorf("unknown key (keys are case-sensitive: %q)", k)
		}
	}
	return fmt.Errorf("unknown key: want one of %s", strings.Join(keys, ", "))
}

// describeToken names what a token begins, as a JSON reader would.
func describeToken(tok json.Token) string {
	switch tok := tok.(type) {
	case json.Delim:
		if tok == '{' {
			return "an object"
		}
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return "a number"
}

// describeType names the JSON that decodes into Go type t.
func describeType(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	if _, ok := reflect.New(t).Interface().(encoding.TextUnmarshaler); ok {
		return "a string"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return describeType(t.Elem())
	case reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		if bits == 64 {
			return "an integer"
		}
		return fmt.Sprintf("an integer from %d to %d", int64(-1)<<(bits-1), int64(math.MaxInt64>>(64-bits)))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if t.Bits() == 64 {
			return "an integer from 0"
		}
		return fmt.Sprintf("an integer from 0 to %d", uint64(math.MaxUint64>>(64-t.Bits())))
	}
	return t.String()
}
