package model

// Regression floors for the shipped checkpoint in TestPretrainedCheckpoint
// (it measured 87/128 sampled at temperature 1 and ~95% greedy on held-out
// questions; the floors leave room for other kernel paths).
const (
	minPretrainedCorrect = 60 // of 128 samples at temperature 1
	minPretrainedGreedy  = 26 // of 32 greedy answers
)
