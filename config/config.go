// Package config is the exchange's one config loader: the JSON file format,
// its embedded default (what `ringex serve` runs with no flags), and the
// checks that turn a bad file into an error naming the field. A file is read
// strictly (decode.go): keys match exactly, and every error names the file,
// line, column and JSON path. Modes named by strings in the file (journal
// sync, ring wait, replication role, mode and onStandbyLost) are typed
// values once read (modes.go). It knows the shape of a venue's settings,
// not what the packages do with them.
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ringex/ringex/journal"
)

//go:embed default.json
var defaultJSON []byte

// DefaultJSON returns the embedded default configuration, as a starting point
// for an operator's own file (`ringex config`).
func DefaultJSON() []byte { return bytes.Clone(defaultJSON) }

// Config is the whole exchange configuration.
type Config struct {
	DataDir  string   `json:"dataDir"` // journal and FIX session state live under it
	FIX      FIX      `json:"fix"`
	Symbols  []Symbol `json:"symbols"` // symbol ids are 1-based positions in this list: never reorder a live venue's list
	Journal  Journal  `json:"journal"`
	Snapshot Snapshot `json:"snapshot"`
	Ring     Ring     `json:"ring"`
	Match    Match    `json:"match"`
	// Replication runs a hot standby beside the primary; role "" (the
	// default) turns it off.
	Replication Replication `json:"replication"`
	// TradingDay says when the day ends on its own; the operator can end
	// it at any time with 'ringex endofday'.
	TradingDay TradingDay `json:"tradingDay"`
	HTTP       HTTP       `json:"http"`
	// Feed is the binary market-data feed (feed.go); off by default.
	Feed Feed `json:"feed"`
	// Risk is the pre-trade risk; mode "none" (the default) has none.
	Risk Risk `json:"risk"`
	// Cluster, with etcd endpoints, lets etcd decide which node of the
	// shard leads (package cluster); no endpoints: no etcd.
	Cluster Cluster `json:"cluster"`
	// Firms own sessions and trading accounts (firms.go); none: every
	// session is a firm of its own with one account, its own.
	Firms []Firm `json:"firms,omitempty"`
}

// HTTP holds the operator's web endpoint: /metrics (Prometheus), /livez,
// /readyz and the status page at /.
type HTTP struct {
	Listen string `json:"listen"` // host:port; empty: no endpoint, and the node keeps no hot-path counters for it
}

// Cluster names the etcd cluster and this node's place in its shard. With
// Etcd set, etcd decides the node's role at every start: replication.role
// and replication.primary must be empty, and replication.failoverMs is not
// read (the leader is found through etcd, and promotion is etcd's
// election).
type Cluster struct {
	Etcd       []string `json:"etcd"`       // etcd client URLs; empty: no etcd
	Shard      string   `json:"shard"`      // the shard's name
	Name       string   `json:"name"`       // this node's name in the shard
	LeaseTTLMs int      `json:"leaseTtlMs"` // the leader's lease, whole seconds in ms
}

// On reports whether etcd decides this node's role (cluster.etcd is set).
func (c Cluster) On() bool { return len(c.Etcd) > 0 }

// TradingDay holds the end-of-day schedule. At the end of the day every
// resting Day order expires, GTC orders stay, and each broker's ClOrdIDs
// may be used again.
type TradingDay struct {
	// EndUTC is the time of day, "HH:MM" in UTC, at which the primary ends
	// the trading day, every day; empty: never on its own.
	EndUTC string `json:"endUTC"`
}

// ParseEndUTC reads a tradingDay.endUTC value as the time since midnight;
// ok is false for the empty string (no schedule).
func ParseEndUTC(s string) (at time.Duration, ok bool, err error) {
	if s == "" {
		return 0, false, nil
	}
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, false, fmt.Errorf("tradingDay.endUTC %q: want HH:MM (UTC, 24-hour) or empty", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, true, nil
}

// Replication holds the hot-standby settings. Both nodes of a pair normally
// share one file and differ in role (serve --role), which changes at a
// failover: a promoted standby serves as primary, an old primary rejoins as
// standby.
type Replication struct {
	Role    Role   `json:"role"`    // "" (off), "primary" or "standby"
	Listen  string `json:"listen"`  // this node's replication host:port, where a standby connects while this node is primary
	Primary string `json:"primary"` // the peer's replication host:port: followed while standby; probed at start by a primary, which follows it instead if a primary serves there
	Admin   string `json:"admin"`   // operator endpoint for 'ringex promote', 'ringex status' and 'ringex endofday'; empty: none
	// AdminToken, when set, is a secret every admin command must carry
	// (ringex promote|status|endofday --token, or RINGEX_ADMIN_TOKEN,
	// which also overrides this at serve). Required when Admin listens on
	// anything but a loopback address.
	AdminToken string `json:"adminToken,omitempty"`
	// Mode "sync": a broker is told of nothing the standby has not made
	// durable. "async": the primary does not wait; a failover loses what the
	// standby had not received.
	Mode ReplicationMode `json:"mode"`
	// OnStandbyLost says what a sync primary does when the standby has not
	// acknowledged a batch for SyncTimeoutMs: "wait" (the default: it
	// acknowledges nothing until a standby is back, so nothing acknowledged
	// can be lost and no isolated primary can acknowledge) or "async"
	// (it goes on alone, loudly, until a standby catches up again).
	OnStandbyLost StandbyLost `json:"onStandbyLost"`
	SyncTimeoutMs int         `json:"syncTimeoutMs"`
	HeartbeatMs   int         `json:"heartbeatMs"` // both ways, on an idle link
	// FailoverMs: a standby that has heard nothing from its primary for this
	// long promotes itself. Only with mode "sync" and onStandbyLost "wait",
	// where the lost primary cannot have acknowledged anything alone. 0:
	// promotion by hand only ('ringex promote').
	FailoverMs int `json:"failoverMs"`
	// RefusedRetryMaxMs: a standby its primary refuses for a reason that can
	// heal (no snapshot yet for a standby further behind than the journal)
	// asks again after 1 s, doubling up to this, logging each refusal. 0:
	// 30000.
	RefusedRetryMaxMs int `json:"refusedRetryMaxMs"`
}

// FIX holds the acceptor's settings. Session stores (sequence numbers and
// sent messages, for resend) live under <dataDir>/fix.
type FIX struct {
	Listen       string    `json:"listen"`       // host:port the acceptor listens on
	SenderCompID string    `json:"senderCompID"` // the exchange's CompID
	CertFile     string    `json:"certFile"`     // with keyFile: TLS (PEM files); both empty: plain TCP
	KeyFile      string    `json:"keyFile"`
	Sessions     []Session `json:"sessions"` // in any order: a session's own account id is bound to its TargetCompID in the journal (node/accounts.go), never its place here; a removed session keeps its id, a new one takes the next free id; firms' named accounts are bound by name too
}

// Session is one broker's FIX session. The heartbeat interval is the
// broker's, from its Logon.
type Session struct {
	BeginString        string `json:"beginString"` // FIX.4.4 or FIX.4.2
	TargetCompID       string `json:"targetCompID"`
	Password           string `json:"password,omitempty"`           // required in Logon Password(554) when set
	ThrottleMsgsPerSec int    `json:"throttleMsgsPerSec,omitempty"` // 0: unthrottled
	// CancelOnDisconnect mass-cancels the session's resting Day orders when
	// it drops; absent means true.
	CancelOnDisconnect *bool `json:"cancelOnDisconnect,omitempty"`
	// DropCopyOf makes this a drop-copy session: it takes no orders and
	// gets a copy of every report to the sessions with these
	// TargetCompIDs, or of every session of a firm it names (firms[].name:
	// the reports of all the firm's accounts, which only its sessions may
	// use); "*" names every session that is not one. Its ExecutionReports
	// say CopyMsgIndicator 797=Y on FIX.4.4, and on FIX.4.2 with
	// CopyMsgIndicator.
	DropCopyOf []string `json:"dropCopyOf,omitempty"`
	// CopyMsgIndicator puts CopyMsgIndicator (797=Y) in a FIX.4.2 drop
	// copy's ExecutionReports too, for a broker whose FIX 4.2 dictionary
	// adds the tag: FIX 4.2 defines no tag 797, so a stock engine refuses
	// every report that carries it. Only with dropCopyOf and FIX.4.2 (a
	// FIX.4.4 drop copy's ExecutionReports always carry it).
	CopyMsgIndicator bool `json:"copyMsgIndicator,omitempty"`
	// MarketDataOnly makes this a market-data-only session: it may send
	// MarketDataRequest and session messages only, and has no orders.
	MarketDataOnly bool `json:"marketDataOnly,omitempty"`
	// MarketDataByOrder lets the session ask for books by order
	// (MarketDataRequest with AggregatedBook N): one entry per resting
	// order, named by its OrderID (package marketdata).
	MarketDataByOrder bool `json:"marketDataByOrder,omitempty"`
	// MarketDataRptSeq adds RptSeq (83) to the session's market data: in
	// each entry of an incremental refresh (X) and in the body of a full
	// refresh (W). quickfixgo's stock FIX 4.2 and 4.4 dictionaries define
	// it in neither, so only a broker whose dictionary adds it (as venues
	// publish theirs) turns it on (package marketdata).
	MarketDataRptSeq bool `json:"marketDataRptSeq,omitempty"`
}

// CancelsOnDisconnect reports the session's cancel-on-disconnect setting,
// true unless the file turns it off.
func (s Session) CancelsOnDisconnect() bool {
	return s.CancelOnDisconnect == nil || *s.CancelOnDisconnect
}

// Symbol is one listed instrument.
type Symbol struct {
	Name     string `json:"name"`
	TickSize string `json:"tickSize"` // a decimal, e.g. "0.01"; prices are whole multiples of it
	LotSize  int64  `json:"lotSize"`  // quantities are whole multiples of it
	// PriceBand, a decimal price on the tick ("5.00"), rejects a limit
	// price further than it from the last trade (or from RefPrice before
	// one), and stops a market order there; empty: no band. The node
	// journals it (matcher.KindBand), so a replay keeps the band each
	// order met.
	PriceBand string `json:"priceBand,omitempty"`
	// RefPrice, a decimal price on the tick, is the band's anchor until
	// the next trade, from the start that first journals it (or a new
	// value); empty: the last trade only. Only with PriceBand.
	RefPrice string `json:"refPrice,omitempty"`
}

// Journal holds the durability settings.
type Journal struct {
	Sync           journal.SyncMode `json:"sync"` // "batch" (fsync every ring batch), "interval", or "none" (benchmarks only)
	SyncIntervalMs int              `json:"syncIntervalMs"`
	SegmentMiB     int              `json:"segmentMiB"`
	// Archive compresses sealed segments (zstd, one core) into
	// <dataDir>/journal/archive in the background.
	Archive bool `json:"archive"`
	// HotRetentionHours lets an archived segment older than this, and older
	// than the newest snapshot, leave the hot folder; 0 keeps them all.
	HotRetentionHours int `json:"hotRetentionHours"`
	// StartFromLastGood lets the exchange start on a journal damaged before
	// its tail, cut at the last good record (the rest is quarantined), or
	// one that lost durable (possibly acknowledged) records at its end;
	// the lost seqs are journaled as markers, never given to an order
	// again. Off: an operator turns it on for one start, knowingly (serve
	// --start-from-last-good).
	StartFromLastGood bool `json:"startFromLastGood,omitempty"`
}

// Snapshot says how often the exchange checkpoints: a snapshot file beside
// the journal and a state-hash record in it. Whichever comes first; both 0
// turns checkpoints off.
type Snapshot struct {
	EveryCommands int64 `json:"everyCommands"`
	EverySec      int   `json:"everySec"`
}

// Ring holds the pipeline settings.
type Ring struct {
	Capacity uint32 `json:"capacity"` // slots, a power of two
	Wait     Wait   `json:"wait"`     // "hybrid" (spin, yield, park: the default) or "spin" (dedicated cores only)
}

// Match holds the matching stage's settings.
type Match struct {
	Partitions int `json:"partitions"` // match goroutines; symbol id % partitions picks one
	// STP is the venue's self-trade prevention; STPAccounts override it
	// for the brokers they name.
	STP         STP          `json:"stp"`
	STPAccounts []AccountSTP `json:"stpAccounts"`
}

// AccountSTP is one account's self-trade prevention mode.
type AccountSTP struct {
	CompID string `json:"compID"` // a fix.sessions[].targetCompID (its own account) or a firms[].accounts name
	Mode   STP    `json:"mode"`
}

// Default returns the embedded default configuration.
func Default() Config {
	c, err := parse(defaultJSON, "embedded default")
	if err != nil {
		panic(err) // the embedded file is part of the binary and covered by tests
	}
	return c
}

// Load reads and checks the configuration file at path.
func Load(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return parse(b, path)
}

// LoadOrDefault is Load(path), or the embedded default when path is empty
// (a command run without --config).
func LoadOrDefault(path string) (Config, error) {
	if path == "" {
		return Default(), nil
	}
	return Load(path)
}

func parse(b []byte, name string) (Config, error) {
	var c Config
	d, err := decodeStrict(b, &c)
	if err == nil {
		err = d.locate(c.Check())
	}
	var fe *FileError
	if errors.As(err, &fe) {
		return Config{}, fmt.Errorf("config %s:%w", name, err)
	}
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", name, err)
	}
	return c, nil
}

// Check reports the first setting that cannot work. Each error begins with
// the JSON path of the setting to fix, which Load finds in the file.
func (c *Config) Check() error {
	if c.DataDir == "" {
		return fmt.Errorf("dataDir is empty")
	}
	if c.FIX.Listen == "" || c.FIX.SenderCompID == "" {
		return fmt.Errorf("fix.listen and fix.senderCompID are required")
	}
	if (c.FIX.CertFile == "") != (c.FIX.KeyFile == "") {
		return fmt.Errorf("fix.certFile and fix.keyFile go together")
	}
	seen, err := c.FIX.checkSessions()
	if err != nil {
		return err
	}
	if err := c.checkFirms(); err != nil {
		return err
	}
	if err := c.FIX.checkDropCopies(c.Firms); err != nil {
		return err
	}
	if err := c.checkSymbols(); err != nil {
		return err
	}
	switch c.Journal.Sync {
	case journal.SyncBatch, journal.SyncNone:
	case journal.SyncInterval:
		if c.Journal.SyncIntervalMs <= 0 {
			return fmt.Errorf("journal.syncIntervalMs must be positive with sync \"interval\"")
		}
	default:
		return fmt.Errorf("journal.sync %v: want batch, interval or none", c.Journal.Sync)
	}
	if c.Journal.HotRetentionHours < 0 || c.Snapshot.EveryCommands < 0 || c.Snapshot.EverySec < 0 {
		return fmt.Errorf("journal.hotRetentionHours, snapshot.everyCommands and snapshot.everySec must not be negative")
	}
	if c.Ring.Capacity == 0 || c.Ring.Capacity&(c.Ring.Capacity-1) != 0 {
		return fmt.Errorf("ring.capacity %d: want a power of two", c.Ring.Capacity)
	}
	if c.Ring.Wait != WaitHybrid && c.Ring.Wait != WaitSpin {
		return fmt.Errorf("ring.wait %q: want hybrid or spin", c.Ring.Wait)
	}
	if c.Match.Partitions < 1 || c.Match.Partitions > 64 {
		return fmt.Errorf("match.partitions %d: want 1 to 64", c.Match.Partitions)
	}
	if err := c.checkSTPAccounts(seen); err != nil {
		return err
	}
	if _, _, err := ParseEndUTC(c.TradingDay.EndUTC); err != nil {
		return err
	}
	if err := c.checkAdmin(); err != nil {
		return err
	}
	if a := c.HTTP.Listen; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("http.listen %q: %v", a, err)
		}
	}
	if err := c.Feed.check(); err != nil {
		return err
	}
	if err := c.Risk.check(c); err != nil {
		return err
	}
	if c.Cluster.On() {
		return c.checkCluster()
	}
	return c.Replication.check()
}

// checkCluster checks a node whose role etcd decides: the cluster block,
// and the replication settings a primary and a standby both need (the
// role, the peer and failoverMs are etcd's).
func (c *Config) checkCluster() error {
	cl := c.Cluster
	if cl.Shard == "" || cl.Name == "" {
		return fmt.Errorf("cluster.shard and cluster.name are required with cluster.etcd")
	}
	if cl.LeaseTTLMs < 1000 || cl.LeaseTTLMs%1000 != 0 {
		return fmt.Errorf("cluster.leaseTtlMs %d: want whole seconds, at least 1000", cl.LeaseTTLMs)
	}
	for i, ep := range cl.Etcd {
		if err := checkEtcdEndpoint(ep); err != nil {
			return fmt.Errorf("cluster.etcd[%d] %q: %v", i, ep, err)
		}
	}
	r := c.Replication
	if r.Role != RoleNone || r.Primary != "" {
		return fmt.Errorf("replication.role and replication.primary: with cluster.etcd, etcd decides the role and names the primary: leave both empty (no serve --role, --primary)")
	}
	if r.Listen == "" {
		return fmt.Errorf("replication.listen is required with cluster.etcd: standbys connect there while this node leads")
	}
	if host, port, err := net.SplitHostPort(r.Listen); err != nil || host == "" || port == "0" || net.ParseIP(host).IsUnspecified() {
		return fmt.Errorf("replication.listen %q: with cluster.etcd it is the address standbys find in etcd and connect to: give a host they reach and a fixed port", r.Listen)
	}
	r.Role, r.Primary, r.FailoverMs = RolePrimary, "", 0
	return r.check()
}

// checkSessions refuses an empty or oversized session list, an unknown
// BeginString, an empty or repeated TargetCompID and a negative throttle;
// it returns the TargetCompIDs.
func (f FIX) checkSessions() (map[string]bool, error) {
	if len(f.Sessions) == 0 || len(f.Sessions) > MaxSessions {
		return nil, fmt.Errorf("fix.sessions: %d sessions, want 1 to %d", len(f.Sessions), MaxSessions)
	}
	seen := map[string]bool{}
	for i, s := range f.Sessions {
		if s.BeginString != "FIX.4.4" && s.BeginString != "FIX.4.2" {
			return nil, fmt.Errorf("fix.sessions[%d].beginString %q: want FIX.4.4 or FIX.4.2", i, s.BeginString)
		}
		if s.TargetCompID == "" || seen[s.TargetCompID] {
			return nil, fmt.Errorf("fix.sessions[%d].targetCompID %q: empty or repeated", i, s.TargetCompID)
		}
		seen[s.TargetCompID] = true
		if s.ThrottleMsgsPerSec < 0 {
			return nil, fmt.Errorf("fix.sessions[%d].throttleMsgsPerSec must not be negative", i)
		}
	}
	return seen, nil
}

// MaxSymbolName is the longest symbols[].name: the journal's symbol scale
// record holds it (matcher.MaxSymbolName).
const MaxSymbolName = 24

// checkSymbols refuses an empty symbol list, a name that is empty,
// repeated, not printable or longer than MaxSymbolName, a lot size that is not positive and a
// missing tick size.
func (c *Config) checkSymbols() error {
	if len(c.Symbols) == 0 {
		return fmt.Errorf("symbols is empty")
	}
	names := map[string]bool{}
	for i, s := range c.Symbols {
		if s.Name == "" || names[s.Name] || strings.ContainsAny(s.Name, "\x00\x01=") {
			return fmt.Errorf("symbols[%d].name %q: empty, repeated or not printable", i, s.Name)
		}
		if len(s.Name) > MaxSymbolName {
			return fmt.Errorf("symbols[%d].name %q: %d bytes, at most %d", i, s.Name, len(s.Name), MaxSymbolName)
		}
		names[s.Name] = true
		if s.LotSize <= 0 {
			return fmt.Errorf("symbols[%d] %s: lotSize must be positive", i, s.Name)
		}
		if s.TickSize == "" {
			return fmt.Errorf("symbols[%d] %s: tickSize is required", i, s.Name)
		}
		if s.RefPrice != "" && s.PriceBand == "" {
			return fmt.Errorf("symbols[%d] %s: refPrice %q without priceBand: a reference price anchors a band", i, s.Name, s.RefPrice)
		}
	}
	return nil
}

// checkSTPAccounts refuses a match.stpAccounts entry that names neither a
// session (sessions: the TargetCompIDs) nor a firm's named account, or
// one named twice.
func (c *Config) checkSTPAccounts(sessions map[string]bool) error {
	stpSeen := map[string]bool{}
	named := map[string]bool{}
	for _, a := range c.NamedAccounts() {
		named[a] = true
	}
	for i, a := range c.Match.STPAccounts {
		if !(sessions[a.CompID] || named[a.CompID]) || stpSeen[a.CompID] {
			return fmt.Errorf("match.stpAccounts[%d].compID %q: not a fix.sessions[].targetCompID or a firms[].accounts name, or repeated", i, a.CompID)
		}
		stpSeen[a.CompID] = true
	}
	return nil
}

// checkEtcdEndpoint takes an etcd client URL as the etcd client does:
// http://host:port, https://host:port or host:port, nothing after the
// port. Anything else would leave the node waiting for an etcd it can
// never reach.
func checkEtcdEndpoint(ep string) error {
	hostPort := ep
	if scheme, rest, ok := strings.Cut(ep, "://"); ok {
		if scheme != "http" && scheme != "https" {
			return fmt.Errorf("want http://host:port, https://host:port or host:port, not scheme %q", scheme)
		}
		hostPort = rest
	}
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return fmt.Errorf("want http://host:port, https://host:port or host:port: %v", err)
	}
	if p, err := strconv.Atoi(port); host == "" || err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("want http://host:port, https://host:port or host:port with a host and a port from 1 to 65535")
	}
	return nil
}

// checkAdmin refuses an admin endpoint that other machines can reach
// without a token: it promotes and ends the trading day.
func (c *Config) checkAdmin() error {
	a := c.Replication.Admin
	if a == "" || c.Replication.AdminToken != "" {
		return nil
	}
	host, _, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("replication.admin %q: %v", a, err)
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("replication.admin %q is not a loopback address: set replication.adminToken (or RINGEX_ADMIN_TOKEN), since anyone who reaches it can promote this node or end the trading day", a)
}

func (r *Replication) check() error {
	switch r.Role {
	case RoleNone:
		return nil
	case RolePrimary:
		if r.Listen == "" {
			return fmt.Errorf("replication.listen is required for role primary")
		}
	case RoleStandby:
		if r.Primary == "" {
			return fmt.Errorf("replication.primary is required for role standby")
		}
	default:
		return fmt.Errorf("replication.role %q: want primary, standby or empty", r.Role)
	}
	if r.Mode != ModeSync && r.Mode != ModeAsync {
		return fmt.Errorf("replication.mode %q: want sync or async", r.Mode)
	}
	if r.OnStandbyLost != LostWait && r.OnStandbyLost != LostAsync {
		return fmt.Errorf("replication.onStandbyLost %q: want wait or async", r.OnStandbyLost)
	}
	if r.HeartbeatMs <= 0 || r.SyncTimeoutMs <= 0 || r.FailoverMs < 0 || r.RefusedRetryMaxMs < 0 {
		return fmt.Errorf("replication.heartbeatMs and syncTimeoutMs must be positive, failoverMs and refusedRetryMaxMs not negative")
	}
	if r.FailoverMs > 0 && (r.Mode != ModeSync || r.OnStandbyLost != LostWait) {
		return fmt.Errorf("replication.failoverMs %d: automatic promotion needs mode sync and onStandbyLost wait, or an old primary could acknowledge alone; set it to 0", r.FailoverMs)
	}
	if r.FailoverMs > 0 && r.FailoverMs < 2*r.HeartbeatMs {
		return fmt.Errorf("replication.failoverMs %d must be at least two heartbeats (%d ms)", r.FailoverMs, 2*r.HeartbeatMs)
	}
	return nil
}

// checkDropCopies refuses a dropCopyOf that names no configured broker
// session or firm, or a drop-copy or market-data-only session, a session
// that is both a drop copy and market-data-only, and a copyMsgIndicator
// on any but a FIX.4.2 drop copy.
func (f FIX) checkDropCopies(firms []Firm) error {
	firmNames := map[string]bool{}
	for _, fm := range firms {
		firmNames[fm.Name] = true
	}
	dropCopy := map[string]bool{} // by TargetCompID: true for a session with no orders of its own
	for _, s := range f.Sessions {
		dropCopy[s.TargetCompID] = len(s.DropCopyOf) > 0 || s.MarketDataOnly
	}
	for i, s := range f.Sessions {
		if len(s.DropCopyOf) > 0 && s.MarketDataOnly {
			return fmt.Errorf("fix.sessions[%d] %s: dropCopyOf and marketDataOnly together: a session is a drop copy or market-data-only, not both", i, s.TargetCompID)
		}
		if s.CopyMsgIndicator && (len(s.DropCopyOf) == 0 || s.BeginString != "FIX.4.2") {
			return fmt.Errorf("fix.sessions[%d] %s: copyMsgIndicator is for a FIX.4.2 drop copy (dropCopyOf) only: a FIX.4.4 drop copy's ExecutionReports always carry 797=Y, and a broker session gets no copies", i, s.TargetCompID)
		}
		for _, name := range s.DropCopyOf {
			if name == "*" {
				continue
			}
			copies, ok := dropCopy[name]
			if ok && firmNames[name] {
				return fmt.Errorf("fix.sessions[%d].dropCopyOf %q: both a session's targetCompID and a firm's name", i, name)
			}
			if (!ok && !firmNames[name]) || copies {
				return fmt.Errorf("fix.sessions[%d].dropCopyOf %q: not the targetCompID of a configured broker session, a firms[].name, or \"*\"", i, name)
			}
		}
	}
	return nil
}
