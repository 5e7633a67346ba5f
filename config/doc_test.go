package config_test

import (
	"bytes"
	"encoding"
	"encoding/json"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ringex/ringex/config"
)

// TestConfigDocMatchesLoader: docs/config.md documents every key of the
// file format, each with the embedded default's value, and no key the
// loader does not know, so the page cannot drift from the loader. Keys are
// the json names of config.Config's fields joined by dots (fix.listen);
// the fields of a list's entries are written with [] (fix.sessions[].password)
// and have no default of their own. A default is the JSON of that key in
// config.Default() marshalled, or the JSON of the field's zero value when
// the key is omitted there (omitempty).
func TestConfigDocMatchesLoader(t *testing.T) {
	page, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := docRows(t, string(page))
	keys := map[string]reflect.Type{}
	fileKeys(reflect.TypeFor[config.Config](), "", keys)
	if len(keys) == 0 {
		t.Fatal("no keys found in config.Config")
	}
	defaults := defaultTree(t)
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		cell, ok := documented[key]
		if !ok {
			t.Errorf("docs/config.md does not document %s", key)
			continue
		}
		typ := keys[key]
		if strings.Contains(key, "[]") || typ.Kind() == reflect.Slice {
			continue // a list, or a field of its entries: no single default
		}
		want := "`" + defaultOf(t, defaults, key, typ) + "`"
		if cell != want {
			t.Errorf("docs/config.md: %s has default %s, the embedded default is %s", key, cell, want)
		}
	}
	for key := range documented {
		if _, ok := keys[key]; !ok {
			t.Errorf("docs/config.md documents %s, which the loader does not know", key)
		}
	}
}

// docRows reads the page's tables: a row "| `key` | default | meaning |"
// gives key → default cell.
func docRows(t *testing.T, page string) map[string]string {
	t.Helper()
	rows := map[string]string{}
	for i, line := range strings.Split(page, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			t.Fatalf("docs/config.md line %d: %q is not a key | default | meaning row", i+1, line)
		}
		key := strings.Trim(strings.TrimSpace(cells[1]), "`")
		if _, dup := rows[key]; dup {
			t.Errorf("docs/config.md line %d: %s documented twice", i+1, key)
		}
		rows[key] = strings.TrimSpace(cells[2])
	}
	return rows
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
var jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()

// fileKeys adds the key of every field of struct type typ, under prefix,
// with its type: nested structs are walked, a list of structs is a key
// and its entries' fields are keys under key[]. A type that decodes
// itself (a parsed mode) is one key.
func fileKeys(typ reflect.Type, prefix string, keys map[string]reflect.Type) {
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		key := prefix + name
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case decodesItself(ft):
			keys[key] = ft
		case ft.Kind() == reflect.Struct:
			fileKeys(ft, key+".", keys)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct && !decodesItself(ft.Elem()):
			keys[key] = ft
			fileKeys(ft.Elem(), key+"[].", keys)
		default:
			keys[key] = ft
		}
	}
}

func decodesItself(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return p.Implements(textUnmarshaler) || p.Implements(jsonUnmarshaler)
}

// defaultTree is config.Default() as the JSON a file would hold.
func defaultTree(t *testing.T) map[string]any {
	t.Helper()
	b, err := json.Marshal(config.Default())
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var tree map[string]any
	if err := dec.Decode(&tree); err != nil {
		t.Fatal(err)
	}
	return tree
}

// defaultOf is the JSON of key's value in tree, or of typ's zero value
// when the default omits the key.
func defaultOf(t *testing.T, tree map[string]any, key string, typ reflect.Type) string {
	t.Helper()
	var v any = tree
	for _, part := range strings.Split(key, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("default: %s: %v is not an object", key, v)
		}
		if v, ok = m[part]; !ok {
			v = reflect.Zero(typ).Interface()
			break
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(b.String())
}
