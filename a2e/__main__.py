from a2e.cli import main

main()
