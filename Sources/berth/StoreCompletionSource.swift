import BerthEngine
import BerthShell

/// Completion candidates read from the store on each Tab press, so the REPL
/// always offers what exists now (another `berth` may have changed it).
struct StoreCompletionSource: CompletionSource {
    let root: String

    func imageNames() -> [String] {
        let store = ImageStore(layout: StoreLayout(root: root))
        let images = store.all()
        let tags = images.flatMap { $0.tags.map(\.description) }
        return tags + images.map(\.shortID)
    }

    func containerNames(states: Set<String>?) -> [String] {
        ContainerStore(layout: StoreLayout(root: root)).all()
            .filter { states == nil || states!.contains($0.state.status.rawValue) }
            .flatMap { [$0.name, $0.shortID] }
            .filter { !$0.isEmpty }
    }
}
