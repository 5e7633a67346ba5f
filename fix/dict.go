package fix

import (
	"fmt"
	"strconv"
	"strings"
)

// Tags the session layer reads or writes.
const (
	tagBeginSeqNo       = 7
	tagBeginString      = 8
	tagBodyLength       = 9
	tagCheckSum         = 10
	tagClOrdID          = 11
	tagEndSeqNo         = 16
	tagMsgSeqNum        = 34
	tagMsgType          = 35
	tagNewSeqNo         = 36
	tagPossDupFlag      = 43
	tagRefSeqNum        = 45
	tagSenderCompID     = 49
	tagSendingTime      = 52
	tagTargetCompID     = 56
	tagText             = 58
	tagPossResend       = 97
	tagEncryptMethod    = 98
	tagHeartBtInt       = 108
	tagTestReqID        = 112
	tagOnBehalfOfCompID = 115
	tagOnBehalfOfSubID  = 116
	tagOrigSendingTime  = 122
	tagGapFillFlag      = 123
	tagDeliverToCompID  = 128
	tagDeliverToSubID   = 129
	tagResetSeqNumFlag  = 141
	tagOnBehalfOfLocID  = 144
	tagDeliverToLocID   = 145
	tagRefTagID         = 371
	tagRefMsgType       = 372
	tagSessionRejReason = 373
	tagBusinessRejReas  = 380
	tagPassword         = 554
)

// Session-level reject reasons, SessionRejectReason(373).
const (
	ReasonInvalidTag          = 0
	ReasonRequiredTagMissing  = 1
	ReasonTagNotDefined       = 2
	ReasonTagWithoutValue     = 4
	ReasonValueOutOfRange     = 5
	ReasonIncorrectDataFormat = 6
	ReasonCompIDProblem       = 9
	ReasonSendingTimeAccuracy = 10
	ReasonInvalidMsgType      = 11
	ReasonTagRepeated         = 13
	ReasonTagOutOfOrder       = 14
	ReasonIncorrectNumInGroup = 16
	ReasonOther               = 99
)

func reasonText(reason int) string {
	switch reason {
	case ReasonInvalidTag:
		return "Invalid tag number"
	case ReasonRequiredTagMissing:
		return "Required tag missing"
	case ReasonTagNotDefined:
		return "Tag not defined for this message type"
	case 3:
		return "Undefined Tag"
	case ReasonTagWithoutValue:
		return "Tag specified without a value"
	case ReasonValueOutOfRange:
		return "Value is incorrect (out of range) for this tag"
	case ReasonIncorrectDataFormat:
		return "Incorrect data format for value"
	case ReasonCompIDProblem:
		return "CompID problem"
	case ReasonSendingTimeAccuracy:
		return "SendingTime accuracy problem"
	case ReasonInvalidMsgType:
		return "Invalid MsgType"
	case ReasonTagRepeated:
		return "Tag appears more than once"
	case ReasonTagOutOfOrder:
		return "Tag specified out of required order"
	case 15:
		return "Repeating group fields out of order"
	case ReasonIncorrectNumInGroup:
		return "Incorrect NumInGroup count for repeating group"
	}
	return "Other"
}

// IsHeaderTag reports whether tag belongs in the standard header (FIX 4.2 and 4.4).
func IsHeaderTag(tag int) bool {
	switch tag {
	case 8, 9, 35, 49, 56, 115, 128, 90, 91, 34, 50, 142, 57, 143, 116, 144, 129, 145,
		43, 97, 52, 122, 212, 213, 347, 369, 370, 627, 628, 629, 630:
		return true
	}
	return false
}

// IsTrailerTag reports whether tag belongs in the standard trailer.
func IsTrailerTag(tag int) bool { return tag == 93 || tag == 89 || tag == 10 }

// isAdminType is isAdminMsgType for a string.
func isAdminType(t string) bool {
	return len(t) == 1 && isAdminMsgType([]byte{t[0]})
}

func isAdminMsgType(t []byte) bool {
	if len(t) != 1 {
		return false
	}
	switch t[0] {
	case '0', '1', '2', '3', '4', '5', 'A':
		return true
	}
	return false
}

// FieldType is how a Dictionary checks a field's value.
type FieldType uint8

const (
	TypeString     FieldType = iota // any non-empty value
	TypeChar                        // one character
	TypeInt                         // optional '-' and digits
	TypeFloat                       // optional '-', digits, optional '.' and digits; no '+' or exponent
	TypeBool                        // Y or N
	TypeTimestamp                   // UTCTimestamp: YYYYMMDD-HH:MM:SS[.sss]
	TypeNumInGroup                  // a non-negative count that opens a repeating group
)

type fieldDef struct {
	typ     FieldType
	defined bool
	enums   []string // allowed values; nil admits any
}

// A Dictionary says which messages and fields a session accepts, FIX data
// dictionary style: the valid MsgTypes of the version, the type and allowed
// values of each field, and for each message the application accepts, its
// fields, required fields and repeating groups. The session layer checks
// every inbound message against it and answers a violation with a session
// Reject naming the field, before the application sees the message.
//
// NewDictionary returns the built-in one for a version: the standard header
// and trailer, the session messages, and order entry (NewOrderSingle,
// OrderCancelRequest, OrderCancelReplaceRequest, OrderStatusRequest and, in
// FIX.4.4, OrderMassCancelRequest). AddMessage and AddField extend it before
// it is handed to an Acceptor; it is read-only afterwards and may be shared.
// A valid MsgType with no definition is answered with BusinessMessageReject
// 380=3 (Unsupported Message Type) by the session layer.
type Dictionary struct {
	beginString string
	maxTag      int                // tags 1..maxTag are the version's own
	fields      []fieldDef         // by tag, 0..maxTag
	userFields  map[int]fieldDef   // defined tags above maxTag
	msgTypes    map[string]bool    // every MsgType of the version
	messages    map[string]*msgDef // messages accepted, with their fields
}

type msgDef struct {
	allowed  map[int]bool
	required []int
	groups   map[int]*groupDef // by NumInGroup tag
}

type groupDef struct {
	delim   int
	members map[int]bool
}

const (
	msgTypes42 = "0 1 2 3 4 5 6 7 8 9 A B C D E F G H J K L M N P Q R S T V W X Y Z a b c d e f g h i j k l m"
	msgTypes44 = msgTypes42 + " n o p q r s t u v w x y z AA AB AC AD AE AF AG AH AI AJ AK AL AM AN AO AP AQ AR AS AT AU AV AW AX AY AZ BA BB BC BD BE BF BG BH"
)

// builtinFields: tag, type, allowed values (space separated; empty for any).
var builtinFields = []struct {
	tag   int
	typ   FieldType
	enums string
}{
	{1, TypeString, ""}, {6, TypeFloat, ""}, {7, TypeInt, ""}, {8, TypeString, ""}, {9, TypeInt, ""},
	{10, TypeString, ""}, {11, TypeString, ""}, {14, TypeFloat, ""}, {15, TypeString, ""}, {16, TypeInt, ""},
	{17, TypeString, ""}, {18, TypeString, ""}, {20, TypeChar, "0 1 2 3"},
	{21, TypeChar, "1 2 3"}, {22, TypeString, ""}, {34, TypeInt, ""}, {35, TypeString, ""}, {36, TypeInt, ""},
	{37, TypeString, ""}, {38, TypeFloat, ""},
	{39, TypeChar, "0 1 2 3 4 5 6 7 8 9 A B C D E"},
	{40, TypeChar, "1 2 3 4 5 6 7 8 9 A B C D E F G H I J K L M P Q"},
	{41, TypeString, ""}, {43, TypeBool, ""}, {44, TypeFloat, ""}, {45, TypeInt, ""}, {47, TypeChar, ""},
	{48, TypeString, ""}, {49, TypeString, ""}, {50, TypeString, ""}, {52, TypeTimestamp, ""},
	{54, TypeChar, "1 2 3 4 5 6 7 8 9 A B C D E F G"}, {55, TypeString, ""}, {56, TypeString, ""},
	{57, TypeString, ""}, {58, TypeString, ""},
	{59, TypeChar, "0 1 2 3 4 5 6 7"}, {60, TypeTimestamp, ""}, {63, TypeString, ""}, {64, TypeString, ""},
	{65, TypeString, ""}, {66, TypeString, ""}, {76, TypeString, ""}, {90, TypeInt, ""}, {91, TypeString, ""},
	{93, TypeInt, ""}, {89, TypeString, ""},
	{95, TypeInt, ""}, {96, TypeString, ""}, {97, TypeBool, ""}, {98, TypeInt, "0 1 2 3 4 5 6"},
	{99, TypeFloat, ""}, {100, TypeString, ""}, {106, TypeString, ""}, {107, TypeString, ""},
	{108, TypeInt, ""}, {109, TypeString, ""}, {110, TypeFloat, ""}, {111, TypeFloat, ""},
	{112, TypeString, ""}, {114, TypeBool, ""}, {115, TypeString, ""}, {116, TypeString, ""},
	{122, TypeTimestamp, ""}, {123, TypeBool, ""}, {126, TypeTimestamp, ""}, {128, TypeString, ""},
	{129, TypeString, ""}, {141, TypeBool, ""}, {142, TypeString, ""}, {143, TypeString, ""},
	{144, TypeString, ""}, {145, TypeString, ""}, {146, TypeNumInGroup, ""}, {150, TypeChar, ""}, {151, TypeFloat, ""},
	{152, TypeFloat, ""},
	{167, TypeString, "ABS AMENDED AN BA BN BOX BRADY BRIDGE BUYSELL CB CD CL CMBS CMO COFO COFP CORP CP CPP CS DEFLTED DINP DN DUAL EUCD EUCORP EUCP EUSOV EUSUPRA FAC FADN FHA FHL FN FOR FORWARD FUT GN GO IET LQN MATURED MBS MF MIO MPO MPP MPT MT MTN NONE ONITE OPT PEF PFAND PN PS PZFJ RAN REPO RETIRED REVLV RVLVTRM SECLOAN SECPLEDGE SL SPCLA SPCLO SPCLT STN STRUCT SUPRA SWING TAN TBA TBILL TBOND TCAL TD TECP TERM TINT TIPS TNOTE TPRN TRAN UST USTB VRDN WAR WITHDRN WLD XCN YANK ?"},
	{200, TypeString, ""}, {207, TypeString, ""}, {212, TypeInt, ""}, {213, TypeString, ""},
	{320, TypeString, ""}, {322, TypeString, ""}, {323, TypeInt, ""}, {336, TypeString, ""},
	{347, TypeString, ""}, {354, TypeInt, ""}, {355, TypeString, ""}, {369, TypeInt, ""},
	{371, TypeInt, ""}, {372, TypeString, ""}, {373, TypeInt, ""}, {379, TypeString, ""}, {380, TypeInt, ""},
	{383, TypeInt, ""}, {384, TypeNumInGroup, ""}, {385, TypeChar, "R S"}, {386, TypeNumInGroup, ""},
	{393, TypeInt, ""}, {432, TypeString, ""}, {447, TypeChar, ""}, {448, TypeString, ""},
	{452, TypeInt, ""}, {453, TypeNumInGroup, ""}, {454, TypeNumInGroup, ""}, {455, TypeString, ""},
	{456, TypeString, ""}, {464, TypeBool, ""}, {526, TypeString, ""}, {528, TypeChar, ""},
	{529, TypeString, ""}, {530, TypeChar, "1 2 3 4 5 6 7"}, {553, TypeString, ""}, {554, TypeString, ""},
	{583, TypeString, ""}, {625, TypeString, ""}, {789, TypeInt, ""},
}

// Session messages and order entry. A tag followed by ! is required;
// N{a b c} is a repeating group counted by N whose entries start with a.
var builtinMessages = map[string]string{
	"0": "112",
	"1": "112!",
	"2": "7! 16!",
	"3": "45! 371 372 373 58 354 355",
	"4": "123 36!",
	"5": "58 354 355",
	"A": "98! 108! 95 96 141 383 384{372 385} 464 553 554 789",
}

var builtinOrderEntry42 = map[string]string{
	"D": "11! 21! 1 18 59 60! 54! 55! 48 22 167 207 38 40! 44 99 15 126 432 110 111 100 58 47 109 76 386{336} 114 65 106 107 200 526 583",
	"F": "41! 11! 37 1 55! 48 22 167 207 54! 60! 38 58 109 76 526",
	"G": "37 41! 11! 1 21! 18 59 60! 54! 55! 48 22 167 207 38 40! 44 99 15 126 432 110 111 100 58 47 109 76 386{336} 114 65 106 107 200 526 583",
	"H": "37 11! 1 55! 48 22 167 207 54! 109 76 526",
}

var builtinOrderEntry44 = map[string]string{
	"D": "11! 1 21 18 59 60! 54! 55 65 48 22 167 207 38 152 40! 44 99 15 126 432 110 111 100 58 528 529 386{336 625} 453{448 447 452} 114 106 107 200 526 583 1028",
	"F": "41! 11! 37 1 55 65 48 22 167 207 54! 60! 38 152 58 453{448 447 452} 526 583",
	"G": "37 41! 11! 1 21 18 59 60! 54! 55 65 48 22 167 207 38 152 40! 44 99 15 126 432 110 111 100 58 528 529 386{336 625} 453{448 447 452} 114 106 107 200 526 583",
	"H": "37 11 1 55 65 48 22 167 207 54! 453{448 447 452} 526 790",
	"q": "11! 530! 336 625 55 65 48 22 167 207 54 60! 58 453{448 447 452} 526",
}

// NewDictionary returns the built-in dictionary for beginString, "FIX.4.2"
// or "FIX.4.4".
func NewDictionary(beginString string) (*Dictionary, error) {
	d := &Dictionary{beginString: beginString, userFields: map[int]fieldDef{}, msgTypes: map[string]bool{}, messages: map[string]*msgDef{}}
	var types string
	var orderEntry map[string]string
	switch beginString {
	case "FIX.4.2":
		d.maxTag, types, orderEntry = 446, msgTypes42, builtinOrderEntry42
	case "FIX.4.4":
		d.maxTag, types, orderEntry = 956, msgTypes44, builtinOrderEntry44
	default:
		return nil, fmt.Errorf("fix: no dictionary for BeginString %q (FIX.4.2 or FIX.4.4)", beginString)
	}
	d.fields = make([]fieldDef, d.maxTag+1)
	for t := 1; t <= d.maxTag; t++ {
		d.fields[t].defined = true
	}
	for _, t := range strings.Fields(types) {
		d.msgTypes[t] = true
	}
	for _, f := range builtinFields {
		d.AddField(f.tag, f.typ, strings.Fields(f.enums)...)
	}
	for _, set := range []map[string]string{builtinMessages, orderEntry} {
		for t, spec := range set {
			if err := d.AddMessage(t, spec); err != nil {
				return nil, err
			}
		}
	}
	return d, nil
}

// BeginString is the version the dictionary describes.
func (d *Dictionary) BeginString() string { return d.beginString }

// AddField defines tag's type and, when given, its allowed values. A tag
// above the version's range (a user-defined field, 5000 and up) is invalid
// until defined here.
func (d *Dictionary) AddField(tag int, typ FieldType, enums ...string) {
	fd := fieldDef{typ: typ, defined: true}
	if len(enums) > 0 {
		fd.enums = enums
	}
	if tag >= 1 && tag <= d.maxTag {
		d.fields[tag] = fd
		return
	}
	if tag >= 1 {
		d.userFields[tag] = fd
	}
}

// AddMessage defines (or replaces) the message msgType that the application
// accepts. spec lists its body fields: "11! 21 40! 386{336 625}" has ClOrdID
// and OrdType required, HandlInst optional, and a repeating group counted by
// NoTradingSessions(386) whose entries start with TradingSessionID(336).
// Header and trailer fields are always allowed. msgType becomes valid.
func (d *Dictionary) AddMessage(msgType, spec string) error {
	md := &msgDef{allowed: map[int]bool{}, groups: map[int]*groupDef{}}
	var group *groupDef
	for _, tok := range strings.Fields(spec) {
		tok, closes := strings.CutSuffix(tok, "}")
		countTok, opens, _ := strings.Cut(tok, "{")
		hasOpen := strings.Contains(tok, "{")
		required := strings.HasSuffix(countTok, "!")
		tag, err := strconv.Atoi(strings.TrimSuffix(countTok, "!"))
		if err != nil || tag <= 0 {
			return fmt.Errorf("fix: message %s: bad field %q in %q", msgType, tok, spec)
		}
		switch {
		case hasOpen:
			if group != nil {
				return fmt.Errorf("fix: message %s: nested groups are not supported: %q", msgType, spec)
			}
			md.allowed[tag] = true
			group = &groupDef{members: map[int]bool{}}
			md.groups[tag] = group
			if required {
				md.required = append(md.required, tag)
			}
			if opens != "" {
				m, err := strconv.Atoi(opens)
				if err != nil || m <= 0 {
					return fmt.Errorf("fix: message %s: bad group member %q", msgType, opens)
				}
				group.delim = m
				group.members[m] = true
			}
		case group != nil:
			if group.delim == 0 {
				group.delim = tag
			}
			group.members[tag] = true
		default:
			md.allowed[tag] = true
			if required {
				md.required = append(md.required, tag)
			}
		}
		if closes {
			if group == nil || group.delim == 0 {
				return fmt.Errorf("fix: message %s: empty or unopened group in %q", msgType, spec)
			}
			group = nil
		}
	}
	if group != nil {
		return fmt.Errorf("fix: message %s: unclosed group in %q", msgType, spec)
	}
	d.msgTypes[msgType] = true
	d.messages[msgType] = md
	return nil
}

// RemoveMessage makes msgType unsupported: still valid, answered with
// BusinessMessageReject.
func (d *Dictionary) RemoveMessage(msgType string) { delete(d.messages, msgType) }

// AllowField lets the defined message msgType carry body field tag (one the
// version or AddField defines), optional.
func (d *Dictionary) AllowField(msgType string, tag int) error {
	md := d.messages[msgType]
	if md == nil {
		return fmt.Errorf("fix: allow field %d: message %s is not defined", tag, msgType)
	}
	md.allowed[tag] = true
	return nil
}

func (d *Dictionary) field(tag int) (fieldDef, bool) {
	if tag >= 1 && tag <= d.maxTag {
		f := d.fields[tag]
		return f, f.defined
	}
	f, ok := d.userFields[tag]
	return f, ok
}

// reject is a session-level reject found by validation; reason < 0 means none.
type reject struct {
	reason int
	tag    int // RefTagID(371); 0 for none (tag 0 itself is reported with hasTag)
	hasTag bool
}

var noReject = reject{reason: -1}

func rejectTag(reason, tag int) reject { return reject{reason: reason, tag: tag, hasTag: true} }

// validate checks m against the dictionary in QuickFIX's order: MsgType,
// required fields, header/body order, then each field (value present, tag
// valid, allowed value, format), then the walk (repeated tags, tags not
// defined for the message, repeating group counts). def is m's definition;
// nil for a message the application does not accept, whose body is not
// checked (it gets a BusinessMessageReject instead).
//
// Hot path: allocates nothing; seen is scratch of the session.
func (d *Dictionary) validate(m *Message, def *msgDef, seen *tagSet) reject {
	for _, t := range [...]int{tagSenderCompID, tagTargetCompID, tagMsgSeqNum, tagSendingTime} {
		if _, ok := m.Get(t); !ok {
			return rejectTag(ReasonRequiredTagMissing, t)
		}
	}
	if def != nil {
		for _, t := range def.required {
			if _, ok := m.Get(t); !ok {
				return rejectTag(ReasonRequiredTagMissing, t)
			}
		}
	}
	inHeader := true
	for i := range m.fields {
		t := int(m.fields[i].tag)
		h := IsHeaderTag(t)
		if inHeader && !h {
			inHeader = false
		} else if !inHeader && h {
			if seenBefore(m, i) { // MsgType(35) again after the body, say
				return rejectTag(ReasonTagRepeated, t)
			}
			return rejectTag(ReasonTagOutOfOrder, t)
		}
	}
	for i := range m.fields {
		t := int(m.fields[i].tag)
		v := m.value(i)
		if len(v) == 0 {
			return rejectTag(ReasonTagWithoutValue, t)
		}
		fd, ok := d.field(t)
		if !ok {
			return rejectTag(ReasonInvalidTag, t)
		}
		if fd.enums != nil && !oneOf(v, fd.enums) {
			return rejectTag(ReasonValueOutOfRange, t)
		}
		if !validFormat(fd.typ, v) {
			return rejectTag(ReasonIncorrectDataFormat, t)
		}
	}
	seen.clear()
	for i := range 3 { // BeginString, BodyLength and MsgType count too: a second MsgType is a repeat
		seen.add(int(m.fields[i].tag), m, i)
	}
	n := len(m.fields) - 1 // CheckSum last
	for i := 3; i < n; i++ {
		t := int(m.fields[i].tag)
		if !seen.add(t, m, i) {
			return rejectTag(ReasonTagRepeated, t)
		}
		if IsHeaderTag(t) || IsTrailerTag(t) || def == nil {
			continue
		}
		if !def.allowed[t] {
			return rejectTag(ReasonTagNotDefined, t)
		}
		if g := def.groups[t]; g != nil {
			count, _ := atoi(m.value(i))
			entries := 0
			for i+1 < n && g.members[int(m.fields[i+1].tag)] {
				i++
				if int(m.fields[i].tag) == g.delim {
					entries++
				}
			}
			if entries != count {
				return rejectTag(ReasonIncorrectNumInGroup, t)
			}
		}
	}
	return noReject
}

// seenBefore reports whether field i's tag occurs earlier in m. Error path only.
func seenBefore(m *Message, i int) bool {
	for j := range i {
		if m.fields[j].tag == m.fields[i].tag {
			return true
		}
	}
	return false
}

func oneOf(v []byte, set []string) bool {
	for _, s := range set {
		if string(v) == s {
			return true
		}
	}
	return false
}

func validFormat(t FieldType, v []byte) bool {
	switch t {
	case TypeChar:
		return len(v) == 1
	case TypeBool:
		return len(v) == 1 && (v[0] == 'Y' || v[0] == 'N')
	case TypeInt:
		if v[0] == '-' {
			v = v[1:]
		}
		_, ok := atoi(v)
		return ok
	case TypeNumInGroup:
		_, ok := atoi(v)
		return ok
	case TypeFloat:
		if v[0] == '-' {
			v = v[1:]
		}
		digits, dot := 0, false
		for _, c := range v {
			switch {
			case isDigit(c):
				digits++
			case c == '.' && !dot:
				dot = true
			default:
				return false
			}
		}
		return digits > 0
	case TypeTimestamp:
		_, ok := parseTimestamp(v)
		return ok
	}
	return true
}

// tagSet finds repeated tags without allocating: a generation stamp per tag
// for the version's tags, a scan of the message for user-defined ones.
type tagSet struct {
	stamp []uint32
	gen   uint32
}

func (s *tagSet) clear() {
	s.gen++
	if s.gen == 0 {
		clear(s.stamp)
		s.gen = 1
	}
}

func (s *tagSet) add(tag int, m *Message, i int) bool {
	if tag >= 0 && tag < 2048 {
		if s.stamp == nil {
			s.stamp = make([]uint32, 2048)
		}
		if s.stamp[tag] == s.gen {
			return false
		}
		s.stamp[tag] = s.gen
		return true
	}
	for j := 3; j < i; j++ {
		if int(m.fields[j].tag) == tag {
			return false
		}
	}
	return true
}
