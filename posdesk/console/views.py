from django.http import HttpResponse


def queue(request):
    return HttpResponse("queue")


def login_view(request):
    return HttpResponse("login")
