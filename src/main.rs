fn main() -> std::process::ExitCode {
    prosody_admin::cli::main()
}
