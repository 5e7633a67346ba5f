package matcher

import (
	"testing"
	"unsafe"
)

// TestMemoryFigures pins the sizes the package doc quotes.
func TestMemoryFigures(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"order", unsafe.Sizeof(order{}), 120},
		{"level", unsafe.Sizeof(level{}), 32},
		{"window", unsafe.Sizeof(window{}), 8456},
		{"idSlot", unsafe.Sizeof(idSlot{}), 8},
		{"clSlot", unsafe.Sizeof(clSlot{}), 8},
		{"retRec", unsafe.Sizeof(retRec{}), 64},
		{"retSlot", unsafe.Sizeof(retSlot{}), 8},
		{"Event", unsafe.Sizeof(Event{}), 152},
		{"Command", unsafe.Sizeof(Command{}), 112},
	} {
		if c.got != c.want {
			t.Errorf("sizeof(%s) = %d, the package doc says %d", c.name, c.got, c.want)
		}
	}
	var r retired
	r.init(DefaultClOrdIDWindow)
	if r.perGen != 2048 || r.genSlots != 8192 || r.filterLines != 512 || r.uwords != 4096 {
		t.Errorf("default retired store: generation %d, table %d slots, filter %d lines, unions %d words",
			r.perGen, r.genSlots, r.filterLines, r.uwords)
	}
}
