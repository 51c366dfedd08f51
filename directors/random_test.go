package directors

import "testing"

func TestRandomWeights(t *testing.T) {
	bs := testBackends("s", 4)
	d := NewRandom("r")
	if err := d.Replace(asMembers(bs), []float64{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	mk := func(int) *Request { return &Request{} }
	checkShares(t, counts(d, 100000, mk), map[string]float64{"s1": 1, "s2": 2, "s3": 3, "s4": 4}, 0.02)

	bs[3].SetAdminState(AdminSick)
	checkShares(t, counts(d, 100000, mk), map[string]float64{"s1": 1, "s2": 2, "s3": 3}, 0.02)
	bs[3].SetAdminState(AdminAuto)
	d.Remove("s1")
	if err := d.Add(NewBackend("s5", BackendConfig{}), 5); err != nil {
		t.Fatal(err)
	}
	checkShares(t, counts(d, 100000, mk), map[string]float64{"s2": 2, "s3": 3, "s4": 4, "s5": 5}, 0.02)
	if err := d.Add(bs[1], 7); err != nil { // re-adding updates the weight
		t.Fatal(err)
	}
	checkShares(t, counts(d, 100000, mk), map[string]float64{"s2": 7, "s3": 3, "s4": 4, "s5": 5}, 0.02)
}
