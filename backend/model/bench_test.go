package model

import "testing"

func BenchmarkTrainLocalBase(b *testing.B) {
	for i := 0; i < b.N; i++ {
		r, err := BenchTrain(LocalBase(), nil, 8, 256, 3, 1)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r.TokensPerSec, "tokens/s")
	}
}

func BenchmarkTrainLocalBaseLoRA32(b *testing.B) {
	for i := 0; i < b.N; i++ {
		r, err := BenchTrain(LocalBase(), &LoraConfig{Rank: 32, TrainAttn: true, TrainMLP: true, TrainUnembed: true}, 8, 256, 3, 1)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r.TokensPerSec, "tokens/s")
	}
}

func BenchmarkSampleB1(b *testing.B) {
	for i := 0; i < b.N; i++ {
		r, err := BenchSample(LocalBase(), 1, 32, 128, 1)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r.TokensPerSec, "tokens/s")
	}
}

func BenchmarkSampleB16(b *testing.B) {
	for i := 0; i < b.N; i++ {
		r, err := BenchSample(LocalBase(), 16, 32, 128, 1)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r.TokensPerSec, "tokens/s")
	}
}

func TestBenchFunctions(t *testing.T) {
	r, err := BenchTrain(LocalTiny(), &LoraConfig{Rank: 4, TrainMLP: true}, 2, 32, 1, 1)
	if err != nil || r.TokensPerSec <= 0 || r.Tokens != 64 {
		t.Fatalf("%+v %v", r, err)
	}
	r, err = BenchSample(LocalTiny(), 3, 4, 5, 1)
	if err != nil || r.TokensPerSec <= 0 || r.Tokens != 15 {
		t.Fatalf("%+v %v", r, err)
	}
}
