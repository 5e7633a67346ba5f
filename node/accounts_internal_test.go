package node

import (
	"slices"
	"strings"
	"testing"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/matcher"
)

func TestAccountsToBind(t *testing.T) {
	sessions := func(ids ...string) []config.Session {
		var out []config.Session
		for _, id := range ids {
			out = append(out, config.Session{BeginString: "FIX.4.4", TargetCompID: id})
		}
		return out
	}
	ab := []matcher.AccountBinding{{Account: 1, Name: "A"}, {Account: 2, Name: "B"}}
	long := strings.Repeat("L", matcher.MaxAccountName+1)
	for _, tc := range []struct {
		name     string
		sessions []config.Session
		bound    []matcher.AccountBinding
		want     []matcher.AccountBinding
		errWords []string // all in the error; none: no error
	}{
		{"fresh_journal_binds_positions", sessions("A", "B"), nil, ab, nil},
		{"bound_as_configured", sessions("A", "B"), ab, nil, nil},
		{"appended_at_the_end", sessions("A", "B", "C"), ab, []matcher.AccountBinding{{Account: 3, Name: "C"}}, nil},
		{"removed_from_the_end", sessions("A"), ab, nil, nil},
		{"swapped", sessions("B", "A"), ab, nil, []string{"fix.sessions[0] B", "account 1", "account 2", "to A", "fix.sessions[1] A"}},
		{"new_one_in_a_removed_ones_place", sessions("A", "C"), ab, nil, []string{"fix.sessions[1] C", "account 2 to B"}},
		{"removed_from_the_middle", sessions("B"), ab, nil, []string{"fix.sessions[0] B", "account 2", "account 1 to A"}},
		{"compid_too_long", sessions("A", long), ab[:1], nil, []string{"fix.sessions[1].targetCompID", "49 bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := accountsToBind(tc.sessions, tc.bound)
			if len(tc.errWords) == 0 {
				if err != nil || !slices.Equal(got, tc.want) {
					t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; would bind %+v", got)
			}
			for _, w := range tc.errWords {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q: %v", w, err)
				}
			}
		})
	}
}
