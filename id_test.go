package allot

import "testing"

func TestParseID(t *testing.T) {
	for in, want := range map[string]string{
		"6E90A2A9-0C31-4F0B-8F73-0B7C0A8D5E01": "6e90a2a9-0c31-4f0b-8f73-0b7c0a8d5e01",
		"6e90a2a9-0c31-4f0b-8f73-0b7c0a8d5e01": "6e90a2a9-0c31-4f0b-8f73-0b7c0a8d5e01",
	} {
		if got, ok := ParseID(in); !ok || got != want {
			t.Errorf("ParseID(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{
		"", "6e90a2a90c314f0b8f730b7c0a8d5e01", "{6e90a2a9-0c31-4f0b-8f73-0b7c0a8d5e01}",
		" 6e90a2a9-0c31-4f0b-8f73-0b7c0a8d5e01", "6e90a2a9-0c31-4f0b-8f73-0b7c0a8d5e0g",
		"6e90a2a9-0c31-4f0b-8f730-b7c0a8d5e01", "6e90a2a9-0c31-4f0b-8f73-0b7c0a8d5e0\u00e9",
	} {
		if _, ok := ParseID(in); ok {
			t.Errorf("ParseID(%q) accepted it", in)
		}
	}
}
