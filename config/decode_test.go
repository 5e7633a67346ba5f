package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestConfigFileErrorsNameFileLineColumnAndPath: a file that cannot be read
// into a Config, or holds a setting that cannot work, is refused with its
// name, the line and column of the offending key or value, its JSON path,
// and why. Each case edits the
// default file; § marks where the error must point (and is removed).
func TestConfigFileErrorsNameFileLineColumnAndPath(t *testing.T) {
	def := string(DefaultJSON())
	for _, tc := range []struct {
		name, from, to string
		path, why      string
	}{
		{"syntax_extra_comma", `"dataDir": "./data",`, `"dataDir": "./data",§,`, "", "malformed JSON: invalid character ','"},
		{"syntax_missing_comma", `"lotSize": 1},
    {"name": "MSFT"`, `"lotSize": 1}
    §{"name": "MSFT"`, "symbols[1]", "malformed JSON: invalid character '{' after array element"},
		{"syntax_unquoted_key", `"match": {"partitions": 2}`, `"match": {§partitions: 2}`, "match", "malformed JSON: invalid character 'p'"},
		{"syntax_bad_literal", `"archive": true`, `"archive": tru§`, "journal.archive", "malformed JSON: invalid character"},
		{"file_ends_early", `"tradingDay": {"endUTC": ""}
}`, `"tradingDay": {"endUTC": ""}§
`, "", "the file ends inside a value"},
		{"more_after_the_object", `"tradingDay": {"endUTC": ""}
}`, `"tradingDay": {"endUTC": ""}
} §{}`, "", "more after the configuration's closing brace"},
		{"string_where_number", `"partitions": 2`, `"partitions": §"2"`, "match.partitions", "got string, want an integer"},
		{"number_where_string", `"targetCompID": "BROKER03"`, `"targetCompID": §7`, "fix.sessions[2].targetCompID", "got number, want a string"},
		{"object_where_string", `"dataDir": "./data"`, `"dataDir": §{}`, "dataDir", "got object, want a string"},
		{"string_where_object", `"match": {"partitions": 2}`, `"match": §"2"`, "match", "got a string, want an object"},
		{"object_where_array", `"symbols": [`, `"symbols": §{}, "x": [`, "symbols", "got an object, want an array"},
		{"negative_unsigned", `"capacity": 16384`, `"capacity": §-1`, "ring.capacity", "got number -1, want an integer from 0 to 4294967295"},
		{"fraction_for_integer", `"lotSize": 1}
  ]`, `"lotSize": §1.5}
  ]`, "symbols[7].lotSize", "got number 1.5, want an integer"},
		{"bool_as_string", `"archive": true`, `"archive": §"true"`, "journal.archive", "got string, want true or false"},
		{"unknown_key_other_case", `"fix": {`, `§"FIX": {`, "FIX", `unknown key (keys are case-sensitive: "fix")`},
		{"unknown_nested_key_other_case", `"senderCompID": "RINGEX"`, `§"SenderCompID": "RINGEX"`, "fix.SenderCompID", `unknown key (keys are case-sensitive: "senderCompID")`},
		{"unknown_key_misspelt", `"listen": "127.0.0.1:9878"`, `§"lissten": "127.0.0.1:9878"`, "fix.lissten", "unknown key: want one of certFile, keyFile, listen, senderCompID, sessions"},
		{"unknown_key_in_array_element", `{"beginString": "FIX.4.4", "targetCompID": "BROKER02"}`, `{"beginString": "FIX.4.4", "targetCompID": "BROKER02", §"throttle": 5}`, "fix.sessions[1].throttle", "unknown key"},
		{"key_given_twice", `"dataDir": "./data",`, `"dataDir": "./data", §"dataDir": "/var",`, "dataDir", "key given twice"},
		{"not_an_object", def, `§[]`, "", "got an array, want an object"},
		// Settings that decode but cannot work (Check) point at their key,
		// or at the nearest enclosing one when the key is missing.
		{"check_begin_string", `{"beginString": "FIX.4.4", "targetCompID": "BROKER02"}`, `{§"beginString": "FIX.4.2x", "targetCompID": "BROKER02"}`, "", `fix.sessions[1].beginString "FIX.4.2x": want FIX.4.4 or FIX.4.2`},
		{"check_partitions", `"match": {"partitions": 2}`, `"match": {§"partitions": 0}`, "", "match.partitions 0: want 1 to 64"},
		{"check_missing_tick_size", `{"name": "AMZN", "tickSize": "0.01", "lotSize": 1}`, `§{"name": "AMZN", "lotSize": 1}`, "", "symbols[3] AMZN: tickSize is required"},
		{"check_missing_listen", `"fix": {
    "listen": "127.0.0.1:9878",`, `§"fix": {`, "", "fix.listen and fix.senderCompID are required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(def, tc.from) {
				t.Fatalf("the default has no %q", tc.from)
			}
			text := strings.Replace(def, tc.from, tc.to, 1)
			at := strings.Index(text, "§")
			text = strings.Replace(text, "§", "", 1)
			line := strings.Count(text[:at], "\n") + 1
			col := len([]rune(text[strings.LastIndex(text[:at], "\n")+1:at])) + 1
			path := filepath.Join(t.TempDir(), "c.json")
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			want := fmt.Sprintf("config %s:%d:%d: ", path, line, col)
			if tc.path != "" {
				want += tc.path + ": "
			}
			if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tc.why) {
				t.Errorf("Load: %v\nwant %q ... %q", err, want, tc.why)
			}
		})
	}
}

// TestConfigStrictDecodeAgreesWithEncodingJSON: on a file both accept, the strict
// decoder gives what encoding/json gives.
func TestConfigStrictDecodeAgreesWithEncodingJSON(t *testing.T) {
	var strict, std Config
	if _, err := decodeStrict(DefaultJSON(), &strict); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(DefaultJSON(), &std); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(strict, std) {
		t.Errorf("strict decode:\n%+v\nencoding/json:\n%+v", strict, std)
	}
	no := false
	withOptional := strings.Replace(string(DefaultJSON()), `"targetCompID": "BROKER08"}`, `"targetCompID": "BROKER08", "cancelOnDisconnect": false, "password": "pw", "throttleMsgsPerSec": 10}`, 1)
	if _, err := decodeStrict([]byte(withOptional), &strict); err != nil {
		t.Fatal(err)
	}
	if s := strict.FIX.Sessions[7]; s.CancelOnDisconnect == nil || *s.CancelOnDisconnect != no || s.Password != "pw" || s.ThrottleMsgsPerSec != 10 {
		t.Errorf("optional session keys: %+v", s)
	}
}
