// Package backend is tkx's local Tinker backend: an engine that serves the
// Tinker protocol over the transformer of backend/model, in-process or over
// HTTP (`tkx serve`).
//
// # Using it
//
//	e, err := backend.NewEngine(backend.Options{})       // data dir $TKX_HOME
//	hc := backend.NewInProcessClient(e.Handler())          // no sockets
//	// use hc with base URL backend.InProcessBaseURL ("http://local")
//
// or backend.LocalClient(), which shares one engine per process. The same
// Handler is what `tkx serve` listens with, so a client runs the same code
// path locally and remotely.
//
// # Requests and futures
//
// Future endpoints (create_model, forward_backward, forward, optim_step,
// save_weights, save_weights_for_sampler, load_weights, asample,
// unload_model) validate the request at once: bad input (out-of-vocabulary
// ids, a sequence longer than the context, tensor lengths that do not match
// the tokens, an unknown loss or base model, a missing checkpoint, a
// malformed body) is a 4xx whose JSON body {"error","category":"user"}
// names the datum, field and value. Accepted requests answer
// {"request_id","model_id"}; retrieve_future long-polls up to
// Options.LongPoll (20 s) and answers {"type":"try_again"} while the
// request runs, the result (protobuf for forward_backward and asample when
// the caller accepts it, JSON otherwise), or {"error","category"} for a
// request that failed while running. Completed results are kept for
// Options.FutureRetention (1 h); after that retrieve_future answers 410,
// and an id it never issued gets 404.
//
// # Ordering (seq_id)
//
// Each model runs its training requests strictly in seq_id order, one at a
// time; models run concurrently with each other, and sampling runs
// concurrently with training (a sampler holds a frozen copy of the
// weights), up to Options.SampleConcurrency requests at once.
//
//   - The first seq_id after create_model is 1; create-via-load uses 0.
//   - A request rejected at submit still consumes its seq_id, as the SDK
//     assumes: the model skips it at once.
//   - A seq_id that never arrives is skipped after a later request has
//     waited Options.SeqGapTimeout (30 s) for it; if it arrives after that
//     it is refused with a user error saying so, rather than run out of
//     order.
//   - A repeated seq_id (a client retrying a request whose answer was lost)
//     returns the original future, not a second execution.
//
// # Checkpoints
//
// Checkpoints live under the data directory ($TKX_HOME, default
// <user cache dir>/tkx) as runs/<run>/{weights|sampler_weights}/<name>/,
// addressed as tinker://<run>/weights/<name>. Each is written into a
// temporary directory, fsynced and renamed into place, so a crash or a full
// disk never leaves half a checkpoint and never harms an earlier one.
// Training checkpoints carry the optimizer state; both kinds carry the PEFT
// adapter (adapter_config.json, adapter_model.safetensors) that the archive
// endpoint serves as a tar with checkpoint_complete. Run metadata and
// checkpoints survive restarts; sessions, models and samplers are in
// memory. A model keeps the snapshots of its 8 most recent unnamed
// save_weights_for_sampler calls (older sampling sessions answer 410);
// Options.IdleUnload (`tkx serve --idle-unload 2h`) unloads models left
// without requests.
//
// # Fault injection
//
// Options.Faults (`tkx serve --faults rate=0.1,kinds=5xx+429+408+drop+slow,seed=1`)
// makes a deterministic share of requests fail before they are processed,
// so every retry is safe. The in-process engine of SharedEngine reads the
// same spec from $TKX_FAULTS.
package backend
