//! Trace log to a file under the data dir; never to the terminal.
