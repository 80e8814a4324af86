from exphil.cli import main

main()
