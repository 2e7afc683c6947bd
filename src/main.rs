fn main() {
    std::process::exit(lockdiag::cli::run());
}
