/// mimalloc: ingest and rendering allocate many small strings; it is faster than glibc malloc
/// there and returns memory instead of fragmenting it across worker threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(cardbridge::cli::main());
}
