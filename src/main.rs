fn main() -> std::process::ExitCode {
    dysr::cli::main()
}
