//! The `parser` binary: see [`parser::cli`].
fn main() -> std::process::ExitCode {
    parser::cli::main()
}
