package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ringex/ringex/journal"
)

// TestConfigModesKeepTheirJSONText: the typed modes write the text a file has
// always had, so a Config marshals to the keys and values of the embedded
// default file and reads back to the same Config.
func TestConfigModesKeepTheirJSONText(t *testing.T) {
	def := Default()
	b, err := json.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	var got, want map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(DefaultJSON(), &want); err != nil {
		t.Fatal(err)
	}
	for _, k := range [][2]string{{"journal", "sync"}, {"ring", "wait"}, {"replication", "role"}, {"replication", "mode"}, {"replication", "onStandbyLost"}} {
		if g, w := got[k[0]].(map[string]any)[k[1]], want[k[0]].(map[string]any)[k[1]]; g != w {
			t.Errorf("%s.%s marshals as %q, the embedded file has %q", k[0], k[1], g, w)
		}
	}
	back, err := parse(b, "marshalled")
	if err != nil || !reflect.DeepEqual(back, def) {
		t.Errorf("the marshalled default reads back as %+v, %v", back, err)
	}
	for _, tc := range []struct {
		v    any
		text string
	}{
		{RoleNone, ""}, {RolePrimary, "primary"}, {RoleStandby, "standby"},
		{ModeSync, "sync"}, {ModeAsync, "async"}, {LostWait, "wait"}, {LostAsync, "async"},
		{WaitHybrid, "hybrid"}, {WaitSpin, "spin"},
		{journal.SyncBatch, "batch"}, {journal.SyncInterval, "interval"}, {journal.SyncNone, "none"},
	} {
		if b, err := json.Marshal(tc.v); err != nil || string(b) != `"`+tc.text+`"` {
			t.Errorf("%T %v marshals to %s, %v; want %q", tc.v, tc.v, b, err, tc.text)
		}
		p := reflect.New(reflect.TypeOf(tc.v))
		if err := json.Unmarshal([]byte(`"`+tc.text+`"`), p.Interface()); err != nil || p.Elem().Interface() != tc.v {
			t.Errorf("%q reads as %v, %v; want %v", tc.text, p.Elem().Interface(), err, tc.v)
		}
	}
}

// TestConfigModeNamesRefused: a mode no type knows is refused as the file is
// read, naming its place and the modes there are; one left empty where a
// mode is required is refused by Check, as before the modes were typed.
func TestConfigModeNamesRefused(t *testing.T) {
	def := string(DefaultJSON())
	primary := func(s string) string { return strings.Replace(s, `"role": ""`, `"role": "primary"`, 1) }
	for _, tc := range []struct {
		name, text, want string
	}{
		{"wait", strings.Replace(def, `"wait": "hybrid"`, `"wait": "Spin"`, 1), `:29:39: ring.wait: "Spin": want hybrid or spin`},
		{"journal_sync", strings.Replace(def, `"sync": "batch"`, `"sync": "always"`, 1), `:27:23: journal.sync: "always": want batch, interval or none`},
		{"journal_sync_empty", strings.Replace(def, `"sync": "batch"`, `"sync": ""`, 1), `:27:23: journal.sync: "": want batch, interval or none`},
		{"role", strings.Replace(def, `"role": ""`, `"role": "leader"`, 1), `:31:27: replication.role: "leader": want primary, standby or empty`},
		{"mode", strings.Replace(def, `"mode": "sync"`, `"mode": "semi"`, 1), `:32:27: replication.mode: "semi": want sync or async`},
		{"on_standby_lost", strings.Replace(def, `"onStandbyLost": "wait"`, `"onStandbyLost": 1`, 1), `:32:52: replication.onStandbyLost: got number, want a string`},
		{"mode_empty_with_a_role", primary(strings.Replace(def, `"mode": "sync"`, `"mode": ""`, 1)), `:32:19: replication.mode "": want sync or async`},
		{"wait_empty", strings.Replace(def, `"wait": "hybrid"`, `"wait": ""`, 1), `:29:31: ring.wait "": want hybrid or spin`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.json")
			if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(path); err == nil || err.Error() != "config "+path+tc.want {
				t.Errorf("Load: %v\nwant config %s%s", err, path, tc.want)
			}
		})
	}
}
