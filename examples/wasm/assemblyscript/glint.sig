greet(string) -> string
shout(string) -> string
