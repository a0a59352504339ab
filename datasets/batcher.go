package datasets

import "fmt"

// Batcher serves fixed-size batches over many epochs the way the
// cookbook's SupervisedDatasetFromHFDataset does:
//
//   - Len() = rows / batchSize (the last partial batch is dropped);
//   - SetEpoch(seed) reshuffles the base dataset with Shuffle(seed)
//     (not composed with the previous epoch's order);
//   - Batch(i) returns rows [i*batchSize, (i+1)*batchSize) of the current
//     order.
//
// At(step) combines them the way supervised/train.py does: epoch, batch =
// divmod(step, Len()), the epoch's order is Shuffle(epoch). The rows a step
// sees therefore depend only on the step number, so a resumed run at step
// k sees exactly the batches an uninterrupted run would.
type Batcher struct {
	base      *Dataset
	size      int
	shuffle   bool
	epochSeed uint64
	current   *Dataset
}

// NewBatcher checks that ds has at least batchSize rows. With shuffle
// false, epochs keep the dataset's order.
func NewBatcher(ds *Dataset, batchSize int, shuffle bool) (*Batcher, error) {
	if err := checkBatch(ds.Name(), ds.Len(), batchSize); err != nil {
		return nil, err
	}
	b := &Batcher{base: ds, size: batchSize, shuffle: shuffle, current: ds}
	b.SetEpoch(0)
	return b, nil
}

// Len is the number of full batches per epoch.
func (b *Batcher) Len() int { return b.base.Len() / b.size }

// BatchSize is the number of rows per batch.
func (b *Batcher) BatchSize() int { return b.size }

// Dataset is the base dataset.
func (b *Batcher) Dataset() *Dataset { return b.base }

// SetEpoch orders the rows for an epoch: Shuffle(seed) of the base
// dataset, or the base order when shuffling is off.
func (b *Batcher) SetEpoch(seed uint64) {
	b.epochSeed = seed
	if b.shuffle {
		b.current = b.base.Shuffle(seed)
	} else {
		b.current = b.base
	}
}

// Batch returns batch i of the current epoch.
func (b *Batcher) Batch(i int) ([]Row, error) {
	if i < 0 || i >= b.Len() {
		return nil, fmt.Errorf("%s: batch index %d out of range [0, %d)", b.base.Name(), i, b.Len())
	}
	out := make([]Row, b.size)
	for k := range out {
		out[k] = b.current.Row(i*b.size + k)
	}
	return out, nil
}

// At returns the batch for a global step over epochs: epoch = step /
// Len(), batch = step % Len(), with SetEpoch(epoch) when the epoch
// changes.
func (b *Batcher) At(step int) (rows []Row, epoch, batch int, err error) {
	if step < 0 {
		return nil, 0, 0, fmt.Errorf("%s: step must be >= 0, got %d", b.base.Name(), step)
	}
	epoch, batch = step/b.Len(), step%b.Len()
	if uint64(epoch) != b.epochSeed {
		b.SetEpoch(uint64(epoch))
	}
	rows, err = b.Batch(batch)
	return rows, epoch, batch, err
}
