//! The three services together on the real Kafka and PostgreSQL, each with its own
//! database and the whole deployment on topics of its own, under concurrent load.

mod api_fuzz;
mod concurrent;
mod hostile;
mod jaeger;
mod processes;
mod stack;
mod trace;
