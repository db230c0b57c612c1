// turnpike command line (placeholder until the app layer lands).
int main() { return 0; }
