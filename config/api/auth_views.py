"""POST /api/auth/login and /api/auth/refresh (docs/api.md, Auth), in the envelope."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer

from catalog.fields import StrictCharField

from .envelope import ok
from .errors import ApplicationError, detail
from .schema import error_responses

AUTH_ERRORS = (400, 401, 413, 415, 429, 500)


class LoginFailed(ApplicationError):
    status_code = 401
    default_error = "Invalid username or password"


class TokensSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="JWT for `Authorization: Bearer …`.")
    refresh = serializers.CharField(help_text="For POST /api/auth/refresh.")

    class Meta:
        ref_name = "LoginTokens"


class LoginResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    access = serializers.CharField()
    refresh = serializers.CharField()
    data = TokensSerializer()

    class Meta:
        ref_name = "LoginResponse"


class RefreshTokenSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField(required=False, help_text="A new refresh token when rotation is on.")

    class Meta:
        ref_name = "RefreshToken"


class RefreshResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    access = serializers.CharField()
    refresh = serializers.CharField(required=False)
    data = RefreshTokenSerializer()

    class Meta:
        ref_name = "RefreshResponse"


def _tokens_answer(serializer_class, tokens: dict, message: str):
    body = serializer_class({"success": True, "message": message, "data": tokens, **tokens}).data
    return ok(body["data"], message=message, **{k: body[k] for k in tokens})


class LoginApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "LoginInput"

        username = StrictCharField(max_length=150)
        password = StrictCharField(max_length=4096, style={"input_type": "password"}, trim_whitespace=False)

    @extend_schema(
        operation_id="auth_login",
        summary="Obtain a JWT (access + refresh)",
        request=InputSerializer,
        responses={
            200: OpenApiResponse(LoginResponseSerializer, description="The tokens, at the top level and in `data`."),
            **error_responses(*AUTH_ERRORS),
        },
        examples=[
            OpenApiExample("Login", value={"username": "erp", "password": "secret"}, request_only=True),
            OpenApiExample(
                "Wrong credentials",
                value={
                    "success": False,
                    "error": "Invalid username or password",
                    "details": [{"field": "", "message": "No active account with the given credentials."}],
                },
                response_only=True,
                status_codes=["401"],
            ),
        ],
        auth=[],
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        serializer = TokenObtainPairSerializer(data=data.validated_data)
        try:
            serializer.is_valid(raise_exception=True)
        except (AuthenticationFailed, serializers.ValidationError, TokenError) as exc:
            raise LoginFailed(details=[detail("", "No active account with the given credentials.")]) from exc
        tokens = {"access": serializer.validated_data["access"], "refresh": serializer.validated_data["refresh"]}
        return _tokens_answer(LoginResponseSerializer, tokens, "Login successful")


class RefreshApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RefreshInput"

        refresh = StrictCharField(max_length=4096)

    @extend_schema(
        operation_id="auth_refresh",
        summary="Exchange a refresh token for a new access token",
        request=InputSerializer,
        responses={
            200: OpenApiResponse(RefreshResponseSerializer, description="A new access token."),
            **error_responses(*AUTH_ERRORS),
        },
        auth=[],
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        serializer = TokenRefreshSerializer(data=data.validated_data)
        try:
            serializer.is_valid(raise_exception=True)
        except (TokenError, AuthenticationFailed) as exc:
            raise ApplicationError(
                "Invalid or expired refresh token",
                status_code=401,
                details=[detail("refresh", "The refresh token is invalid or expired.")],
            ) from exc
        tokens = {"access": serializer.validated_data["access"]}
        if "refresh" in serializer.validated_data:
            tokens["refresh"] = serializer.validated_data["refresh"]
        return _tokens_answer(RefreshResponseSerializer, tokens, "Token refreshed")
