//! Tree models on binned features: the binning (`bins`), growing one CART
//! tree (`grow`), forests and extra-trees (`forest`), AdaBoost (`adaboost`)
//! and histogram gradient boosting (`hgb`).

pub(crate) mod adaboost;
pub(crate) mod bins;
pub(crate) mod forest;
pub(crate) mod grow;
pub(crate) mod hgb;
