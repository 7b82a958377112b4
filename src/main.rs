fn main() {
    std::process::exit(cardbridge::cli::main());
}
