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
		{"fresh_journal_binds_1_2_in_config_order", sessions("A", "B"), nil, ab, nil},
		{"bound_as_configured", sessions("A", "B"), ab, nil, nil},
		{"appended_at_the_end", sessions("A", "B", "C"), ab, []matcher.AccountBinding{{Account: 3, Name: "C"}}, nil},
		{"removed_from_the_end", sessions("A"), ab, nil, nil},
		{"swapped_keeps_both_ids", sessions("B", "A"), ab, nil, nil},
		{"removed_from_the_middle_keeps_the_other", sessions("B"), ab, nil, nil},
		{"new_one_where_a_removed_one_was_takes_a_fresh_id", sessions("A", "C"), ab, []matcher.AccountBinding{{Account: 3, Name: "C"}}, nil},
		{"new_ones_first_take_ids_after_every_bound_one", sessions("D", "C", "B"), ab,
			[]matcher.AccountBinding{{Account: 3, Name: "D"}, {Account: 4, Name: "C"}}, nil},
		{"a_removed_sessions_id_is_never_reused", sessions("A", "C"), []matcher.AccountBinding{{Account: 1, Name: "A"}, {Account: 7, Name: "GONE"}},
			[]matcher.AccountBinding{{Account: 8, Name: "C"}}, nil},
		{"named_accounts_do_not_move_session_ids", sessions("A", "C"), append(slices.Clone(ab), matcher.AccountBinding{Account: matcher.FirstNamedAccount, Name: "X"}),
			[]matcher.AccountBinding{{Account: 3, Name: "C"}}, nil},
		{"a_firm_accounts_name_as_a_session", sessions("A", "X"), append(slices.Clone(ab), matcher.AccountBinding{Account: matcher.FirstNamedAccount, Name: "X"}),
			nil, []string{"fix.sessions[1] X", "account 1024", "named account"}},
		{"session_ids_ran_out", sessions("A", "NEW"), []matcher.AccountBinding{{Account: 1, Name: "A"}, {Account: matcher.FirstNamedAccount - 1, Name: "LAST"}},
			nil, []string{"fix.sessions[1] NEW", "1023", "never reused"}},
		{"compid_too_long", sessions("A", long), ab[:1], nil, []string{"fix.sessions[1].targetCompID", "49 bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := accountsToBind(tc.sessions, tc.bound)
			checkBinding(t, got, err, tc.want, tc.errWords)
		})
	}
}

// checkBinding checks one case of a binding table: with no errWords, that
// err is nil and got is want; otherwise that err says every one of them.
func checkBinding(t *testing.T, got []matcher.AccountBinding, err error, want []matcher.AccountBinding, errWords []string) {
	t.Helper()
	if len(errWords) == 0 {
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("got %+v, %v; want %+v", got, err, want)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error; would bind %+v", got)
	}
	for _, w := range errWords {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not say %q: %v", w, err)
		}
	}
}

// TestNamedAccountsToBind: a firm's accounts are bound by name from
// matcher.FirstNamedAccount on, in the order they first appear; a bound
// one keeps its id however the config is reordered, and one the journal
// binds that no firm lists refuses the start, naming it.
func TestNamedAccountsToBind(t *testing.T) {
	const first = matcher.FirstNamedAccount
	sessionsBound := []matcher.AccountBinding{{Account: 1, Name: "A"}, {Account: 2, Name: "B"}}
	bound := append(slices.Clone(sessionsBound), matcher.AccountBinding{Account: first, Name: "X"}, matcher.AccountBinding{Account: first + 1, Name: "Y"})
	for _, tc := range []struct {
		name     string
		names    []string
		bound    []matcher.AccountBinding
		want     []matcher.AccountBinding
		errWords []string
	}{
		{"fresh_journal_binds_from_the_first_named_id", []string{"X", "Y"}, sessionsBound,
			[]matcher.AccountBinding{{Account: first, Name: "X"}, {Account: first + 1, Name: "Y"}}, nil},
		{"bound_as_configured", []string{"X", "Y"}, bound, nil, nil},
		{"reordered_changes_nothing", []string{"Y", "X"}, bound, nil, nil},
		{"new_one_takes_the_next_id_wherever_it_is_listed", []string{"Z", "Y", "X"}, bound,
			[]matcher.AccountBinding{{Account: first + 2, Name: "Z"}}, nil},
		{"removed_one_refuses_naming_it", []string{"X"}, bound, nil, []string{"account Y", "id 1025", "firms[].accounts"}},
		{"a_sessions_name_is_no_firm_account", []string{"A"}, bound, nil, []string{`"A"`, "account 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := namedAccountsToBind(tc.names, tc.bound)
			checkBinding(t, got, err, tc.want, tc.errWords)
		})
	}
}

// TestFirmsInTheEngineAndGatewayConfig: a firm's self-trade prevention
// (its mode, an account's own override, its scope) reaches the engine by
// name; a dropCopyOf naming a firm copies its sessions; risk keeps ids up
// to the last named account's, and every session id without firms.
func TestFirmsInTheEngineAndGatewayConfig(t *testing.T) {
	cfg := config.Default()
	cancelBoth := config.STPCancelBoth
	cfg.Firms = []config.Firm{{Name: "F1", Sessions: []string{"BROKER01", "BROKER02"}, Accounts: []string{"X", "Y"},
		STP: &cancelBoth, STPScope: config.STPScopeFirm}}
	cfg.Match.STPAccounts = []config.AccountSTP{{CompID: "Y", Mode: config.STPDecrement}}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	mc := EngineConfig(cfg)
	if len(mc.Firms) != 1 || mc.Firms[0].Scope != matcher.STPScopeFirm || !slices.Equal(mc.Firms[0].Names, []string{"BROKER01", "BROKER02", "X", "Y"}) {
		t.Errorf("engine firms %+v", mc.Firms)
	}
	want := []matcher.NamedSTP{{Name: "BROKER01", Mode: matcher.STPCancelBoth}, {Name: "BROKER02", Mode: matcher.STPCancelBoth},
		{Name: "X", Mode: matcher.STPCancelBoth}, {Name: "Y", Mode: matcher.STPDecrement}}
	if !slices.Equal(mc.NamedSTP, want) {
		t.Errorf("named modes %+v, want %+v", mc.NamedSTP, want)
	}
	if got := dropCopyOf(cfg, []string{"F1", "BROKER03"}); !slices.Equal(got, []string{"BROKER01", "BROKER02", "BROKER03"}) {
		t.Errorf("dropCopyOf F1, BROKER03 = %q", got)
	}
	if got := riskAccounts(cfg); got != matcher.FirstNamedAccount+1 {
		t.Errorf("risk accounts %d, want %d", got, matcher.FirstNamedAccount+1)
	}
	cfg.Firms = nil
	cfg.Match.STPAccounts = []config.AccountSTP{{CompID: "BROKER03", Mode: config.STPCancelOldest}}
	mc = EngineConfig(cfg)
	if want := []matcher.NamedSTP{{Name: "BROKER03", Mode: matcher.STPCancelResting}}; !slices.Equal(mc.NamedSTP, want) || len(mc.AccountSTP) != 0 {
		t.Errorf("a session's stpAccounts mode: named %+v, by id %+v; want %+v by name only (its id is the journal's, not its place)", mc.NamedSTP, mc.AccountSTP, want)
	}
	cfg.Match.STPAccounts = nil
	if got := riskAccounts(cfg); got != matcher.FirstNamedAccount-1 {
		t.Errorf("no firms: risk accounts %d, want every session id there can be, %d", got, matcher.FirstNamedAccount-1)
	}
}
