from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

MIN_PASSWORD_LENGTH = 8


class UserRegister(BaseModel):
    email: EmailStr
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=128)
    name: str = Field(min_length=1, max_length=200)

    @field_validator("password")
    @classmethod
    def _not_trivially_weak(cls, password: str) -> str:
        if password.isdigit() or password.isalpha() or len(set(password)) < 4:
            raise ValueError(
                "password must mix letters with digits or symbols and not repeat one "
                "character"
            )
        return password


class UserLogin(BaseModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=128)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    name: str
    is_active: bool
    created_at: datetime


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int
    user: UserRead


class TokenRefresh(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=4096)
