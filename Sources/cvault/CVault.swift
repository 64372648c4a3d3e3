import ArgumentParser

@main
struct CVault: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cvault",
        abstract: "An encrypted customer-data vault with tokenization.")
}
