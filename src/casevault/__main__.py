from casevault.cli import main

main()
