//! Training and honest evaluation (feature `train`).
//!
//! Protocol (the Beauty benchmark's, applied to any log): for each user the last *target* event
//! (a purchase, or any item event when the log has no purchases) is the test target and the one
//! before it the validation target. The input of each question stops where the shopper first
//! touched the target item after the previous target (a view or cart of the item would give the
//! answer away; on purchase-only data such as Beauty this is simply "all earlier events").
//! Training reads only events before the validation input's end.
//! Evaluation ranks the full catalogue, excludes items already in the input history, and reports
//! a popularity baseline computed in the same run.
//!
//! - [`data`]: reading logs, catalogues and attribute maps; [`parquet`]: Parquet logs (the
//!   events columns, GA4's BigQuery export, one row per user) from files, directories or globs;
//!   [`ga4`]: the GA4 export's mapping onto localrec's events.
//! - [`prepare`]: logs to model input (the browser's featurisation) and the split points.
//! - [`fit`]: the training loop and its loss; [`softmax`]: full and sampled
//!   cross-entropy with their gradients, outside autodiff; [`lazy`]: the item table trained
//!   sparsely (lazy Adam) when negatives are sampled; [`pq_tune`]: fine-tuning a trained model
//!   through product-quantisation codes of its item table.
//! - [`eval`]: full-ranking evaluation, popularity baseline, offer targeting; [`metrics`].
//! - [`pipeline`]: what `localrec train` and `localrec eval` run, callable from code and tests.
//! - [`report`]: `report.html`; [`synth`]: a synthetic shop.

pub mod data;
pub mod eval;
pub mod fit;
pub mod ga4;
pub mod lazy;
pub mod metrics;
pub mod options;
pub mod parquet;
pub mod pipeline;
pub mod pq_tune;
pub mod prepare;
pub mod report;
pub mod softmax;
pub mod synth;

pub use eval::{
    EvalCase, EvalResult, OfferEval, Scores, Split, cases, evaluate, evaluate_offers,
    evaluate_popularity,
};
pub use fit::{
    EpochLog, Objective, Positions, Resume, ScoreTable, StepTimes, Trained, loss, objective,
    positions_loss, train,
};
pub use options::{Backend, NegativeSharing, TrainOptions};
pub use prepare::{Cut, DataStats, PrepareOptions, Prepared, PreparedUser, prepare};
