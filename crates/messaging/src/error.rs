//! Failures of a message's handling, sorted into the classes of DESIGN.md §5 so the
//! consumer runtime knows whether to wait, retry, or dead-letter.

/// What the runtime does about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The database or broker is unreachable: pause, back off, retry forever; never DLQ.
    Infrastructure,
    /// Lost a race (serialization failure, deadlock, version conflict): retry at once.
    Transient,
    /// The handler cannot apply this message: retry with backoff, then DLQ.
    Handler,
}

/// A handler's failure.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Another writer appended to the same stream first (event-store version conflict).
    #[error("concurrent update of {0}")]
    Conflict(String),
    /// The handler's own refusal: this message cannot be applied.
    #[error("{0}")]
    Rejected(String),
    /// The service's own state breaks an invariant (a status nobody writes, a capture
    /// without its account): acting on a guess would charge, reserve or refund wrongly,
    /// so the message is retried like a handler failure (a repair may come) and then
    /// dead-lettered for an operator, never applied.
    #[error("corrupt state: {0}")]
    Corrupt(String),
    /// Publishing (a DLQ copy, say) failed on the broker's side.
    #[error("kafka: {0}")]
    Kafka(String),
}

impl HandlerError {
    pub fn class(&self) -> ErrorClass {
        match self {
            HandlerError::Database(err) => classify_sqlx(err),
            HandlerError::Conflict(_) => ErrorClass::Transient,
            HandlerError::Rejected(_) | HandlerError::Corrupt(_) => ErrorClass::Handler,
            HandlerError::Kafka(_) => ErrorClass::Infrastructure,
        }
    }
}

/// What a handler's store can fail with: the database, or a state row that breaks the
/// service's invariants, which is never guessed at (see [`StateError::corrupt`]).
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A row that no decision of the service writes.
    #[error("{0}")]
    Corrupt(String),
}

impl StateError {
    /// Counts (`corrupt_state_total` by table) and logs a corrupt row of `table`: an
    /// operator must repair it, and the message goes to the DLQ meanwhile.
    pub fn corrupt(table: &'static str, order_id: contracts::OrderId, problem: String) -> Self {
        metrics::counter!("corrupt_state_total", "table" => table).increment(1);
        tracing::error!(table, %order_id, %problem, "Corrupt state; the message is not applied.");
        Self::Corrupt(format!("order {order_id}: {problem}"))
    }
}

impl From<StateError> for HandlerError {
    fn from(err: StateError) -> Self {
        match err {
            StateError::Database(err) => HandlerError::Database(err),
            StateError::Corrupt(problem) => HandlerError::Corrupt(problem),
        }
    }
}

/// SQLSTATEs that mean the server is away or out of room, not that the query is wrong.
fn is_infrastructure_sqlstate(code: &str) -> bool {
    code.starts_with("08") // connection exception
        || code.starts_with("53") // insufficient resources (53300: too many connections)
        || matches!(code, "57P01" | "57P02" | "57P03") // admin / crash shutdown, cannot connect now
        // statement_timeout and lock_timeout (`messaging::session`): the server is slow or
        // a vanished session still holds the lock; waiting it out is the cure, and no
        // message is to blame.
        || matches!(code, "57014" | "55P03")
}

/// Sorts a sqlx error into its class.
pub fn classify_sqlx(err: &sqlx::Error) -> ErrorClass {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => ErrorClass::Infrastructure,
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("40001" | "40P01") => ErrorClass::Transient,
            Some(code) if is_infrastructure_sqlstate(code) => ErrorClass::Infrastructure,
            _ => ErrorClass::Handler,
        },
        _ => ErrorClass::Handler,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_and_pool_failures_are_infrastructure() {
        let io = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(classify_sqlx(&io), ErrorClass::Infrastructure);
        assert_eq!(
            classify_sqlx(&sqlx::Error::PoolTimedOut),
            ErrorClass::Infrastructure
        );
    }

    #[test]
    fn sqlstates_sort_into_classes() {
        for code in ["08006", "08001", "57P01", "57P03", "53300"] {
            assert!(is_infrastructure_sqlstate(code), "{code}");
        }
        for code in ["23505", "22003", "42P01", "40001"] {
            assert!(!is_infrastructure_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn a_version_conflict_is_transient_and_a_rejection_is_a_handler_error() {
        assert_eq!(
            HandlerError::Conflict("order 1".into()).class(),
            ErrorClass::Transient
        );
        assert_eq!(
            HandlerError::Rejected("no".into()).class(),
            ErrorClass::Handler
        );
    }

    #[test]
    fn corrupt_state_goes_the_handler_way_to_the_dlq() {
        let err = HandlerError::Corrupt("unknown payments.status \"x\"".into());
        assert_eq!(err.class(), ErrorClass::Handler);
        assert_eq!(
            err.to_string(),
            "corrupt state: unknown payments.status \"x\""
        );
    }
}
