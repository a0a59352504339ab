package model

// minPretrainedCorrect is the least number of correct answers (of 128
// samples) TestPretrainedCheckpoint accepts from the shipped checkpoint.
const minPretrainedCorrect = 2
