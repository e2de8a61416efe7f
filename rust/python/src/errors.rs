//! Maps core error enums onto the `hftcore.errors` exception hierarchy (defined in Python so
//! that it is documented and subclassable there); each exception carries a reason code.

use hftcore_core::ValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;

static ERRORS_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// Builds `hftcore.errors.<class_name>(code, message)`.
pub fn raise(py: Python<'_>, class_name: &str, code: &str, message: String) -> PyErr {
    let built = ERRORS_MODULE
        .get_or_try_init(py, || {
            PyModule::import(py, "hftcore.errors").map(|module| module.unbind())
        })
        .and_then(|module| {
            let class = module.bind(py).getattr(class_name)?;
            class.call1((code, message.clone()))
        });
    match built {
        Ok(instance) => PyErr::from_value(instance),
        Err(import_error) => import_error,
    }
}

/// The reason code of a conversion error.
pub fn value_error_code(error: &ValueError) -> &'static str {
    match error {
        ValueError::NotANumber(_) => "NOT_A_NUMBER",
        ValueError::Infinite => "INFINITE",
        ValueError::OffGrid { .. } => "OFF_GRID",
        ValueError::NonPositiveQuantity(_) => "NON_POSITIVE_QUANTITY",
        ValueError::NonPositivePrice(_) => "NON_POSITIVE_PRICE",
        ValueError::Overflow(_) => "OVERFLOW",
        ValueError::UnknownSide(_) => "UNKNOWN_SIDE",
        ValueError::InvalidSpec(_) => "INVALID_INSTRUMENT",
    }
}

/// `hftcore.errors.InvalidValue` for a conversion error.
pub fn value_error(error: ValueError) -> PyErr {
    Python::attach(|py| {
        raise(
            py,
            "InvalidValue",
            value_error_code(&error),
            error.to_string(),
        )
    })
}
